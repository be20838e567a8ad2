"""The web console: the stand's state, controls, alarms, plots and runs in a browser.

A FastAPI app behind uvicorn, fed by one MQTT session (:mod:`.hub`); every command it
sends goes over the MQTT contract like any other client's.
"""
