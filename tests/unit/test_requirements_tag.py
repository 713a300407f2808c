"""requirements-tag.txt, the tagging-only install: no MindSpore, and the same pins as requirements.txt."""

from tests.helpers.processes import ROOT


def _pins(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text().splitlines()
    pins = [line.split("#")[0].strip() for line in lines]
    return dict(pin.lower().split("==") for pin in pins if pin and not pin.startswith("-"))


def test_the_tagging_only_requirements_leave_out_mindspore_and_pin_as_the_full_install():
    tagging, full = _pins("requirements-tag.txt"), _pins("requirements.txt")
    assert "mindspore" not in tagging and "onnxruntime" in tagging and "numpy" in tagging
    assert {name: full.get(name) for name in tagging} == tagging
