"""python -m refmodel.sim: every slot bit-exact, clear errors for bad arguments."""

from __future__ import annotations

import subprocess
import sys

import pytest

from refmodel import sim


def test_deit_t_has_49_slots():
    slots = sim.slots(sim.ARCHITECTURES["deit_t"])
    assert len(slots) == 49
    kinds = [s.kind for s in slots]
    assert (kinds.count("softmax"), kinds.count("gelu"), kinds.count("layernorm")) == (12, 12, 25)


@pytest.mark.parametrize("bits", [8, 6])
def test_deit_t_ends_with_every_slot_bit_exact(bits, capsys):
    assert sim.main(["deit_t", "--bits", str(bits)]) == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-1] == "bit-exact slots: 49/49"


@pytest.mark.parametrize("args, message", [(["resnet50"], "unknown model 'resnet50'; known models: deit_t"), (["deit_t", "--bits", "4"], "--bits must be 8 or 6")])
def test_bad_arguments_give_one_error_line(args, message):
    proc = subprocess.run([sys.executable, "-m", "refmodel.sim", *args], capture_output=True, text=True)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
