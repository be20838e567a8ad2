"""The pyvisa-sim definitions of the CAEN and Julabo command sets load and answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvisa
from pyvisa.resources import MessageBasedResource

SIM = Path(__file__).resolve().parents[1] / "instruments" / "pyvisa_sim"


def open_message(rm: pyvisa.ResourceManager, name: str, read: str, write: str) -> MessageBasedResource:
    inst = rm.open_resource(name, read_termination=read, write_termination=write)
    assert isinstance(inst, MessageBasedResource)
    return inst


@pytest.fixture
def caen_visa() -> Iterator[pyvisa.ResourceManager]:
    rm = pyvisa.ResourceManager(f"{SIM / 'caen_n1470.yaml'}@sim")
    yield rm
    rm.close()


@pytest.mark.parametrize("resource", ["ASRL1::INSTR", "TCPIP::127.0.0.1::1470::SOCKET"])
def test_caen_pyvisa_sim_answers_and_reads_back(caen_visa: pyvisa.ResourceManager, resource: str) -> None:
    inst = open_message(caen_visa, resource, "\r\n", "\r\n")
    assert inst.query("$BD:00,CMD:MON,PAR:BDNAME") == "#BD:00,CMD:OK,VAL:N1470"
    assert inst.query("$BD:00,CMD:SET,CH:2,PAR:VSET,VAL:150.0") == "#BD:00,CMD:OK"
    assert inst.query("$BD:00,CMD:MON,CH:2,PAR:VSET") == "#BD:00,CMD:OK,VAL:0150.0"
    assert inst.query("$BD:00,CMD:MON,CH:1,PAR:VSET") == "#BD:00,CMD:OK,VAL:0000.0"
    assert inst.query("$BD:00,CMD:SET,CH:2,PAR:VSET,VAL:9000.0") == "#BD:00,VAL:ERR"
    assert inst.query("$BD:00,CMD:SET,CH:0,PAR:ON") == "#BD:00,CMD:OK"
    assert inst.query("$BD:00,CMD:MON,CH:4,PAR:STAT") == "#BD:00,CMD:OK,VAL:00000;00000;00000;00000"
    assert inst.query("$BD:00,CMD:FLY") == "#BD:00,CMD:ERR"
    inst.close()


def test_julabo_pyvisa_sim_answers_and_reads_back() -> None:
    rm = pyvisa.ResourceManager(f"{SIM / 'julabo.yaml'}@sim")
    inst = open_message(rm, "ASRL2::INSTR", "\r\n", "\r")
    assert inst.query("status") == "03 REMOTE START"
    assert inst.query("in_sp_00") == "20.00"
    inst.write("out_sp_00 -12.50")
    assert inst.query("in_sp_00") == "-12.50"
    inst.write("out_mode_05 1")
    assert inst.query("in_mode_05") == "1"
    assert inst.query("in_pv_00") == "21.43"
    inst.close()
    rm.close()
