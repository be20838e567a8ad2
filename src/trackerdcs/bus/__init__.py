"""The bus: MQTT plumbing every service and the operator client share.

Broker settings and URLs (:mod:`.settings`), sessions and reconnection
(:mod:`.session`), the bounded outbox, replies and request/response, and the
broker that ``dcs up`` starts (mosquitto, or the embedded amqtt). No service logic.
"""
