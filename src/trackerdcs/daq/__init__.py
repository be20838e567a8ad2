"""Pure DAQ logic: Ph2_ACF's log lines, its known failures, the run state, the [daq] table, condition
summaries. No asyncio, no MQTT, no database: the DAQ service and the run store build on it."""
