"""The safety service: module power sequences, interlock rules, the alarm book and notifications."""
