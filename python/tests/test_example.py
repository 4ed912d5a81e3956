"""The README's "Write a stage in Python" example is examples/python_stage/my_stages/brightness.py
verbatim, and it runs in a real worker the way examples/python_stage/bikefit_python.toml
configures it."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import REPO

EXAMPLE = REPO / "examples" / "python_stage"


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Write a stage in Python", 1)[1].split("\n## ", 1)[0]
    m = re.search(r"```python\n(.*?)```", section, re.S)
    assert m, "the section has no python code block"
    return m.group(1)


def test_readme_example_is_the_example_file_in_at_most_20_lines():
    code = readme_example()
    assert code == (EXAMPLE / "my_stages" / "brightness.py").read_text()
    assert len(code.strip().splitlines()) <= 20


def config_stage() -> dict:
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((EXAMPLE / "bikefit_python.toml").read_text())
    plugins = [s["plugin"] for s in config["stages"]]
    assert plugins[:4] == ["blob_detection", "camera_control", "marker_manager", "geometry_manager"]
    (stage,) = [s for s in config["stages"] if s["plugin"] == "py_brightness"]
    return stage


def test_the_example_stage_runs_as_its_config_says(host):
    stage = config_stage()
    assert stage["isolation"] == "process"
    # As the host starts it: cwd = the config's directory, which is also first on PYTHONPATH.
    w = host(stage["plugin"], module=stage["module"], cwd=str(EXAMPLE), path=[str(EXAMPLE)])
    d = w.handshake()
    assert d["info"]["id"] == "py_brightness"
    threshold = d["params_schema"]["properties"]["threshold"]
    assert (threshold["type"], threshold["minimum"], threshold["maximum"]) == ("integer", 0, 255)
    assert w.init(stage["params"]) == {"type": "ready", "params": {"threshold": 200}}
    img = np.zeros((480, 640, 3), np.uint8)
    img[:120] = 200  # a quarter of the frame at the threshold
    img[120:240] = 199
    r = w.process(img)
    assert r["error"] is None and r["signals"] == [{"name": "bright", "value": 0.25}]
    assert w.set_params({"threshold": 199})["params"] == {"threshold": 199}
    assert w.process(img)["signals"] == [{"name": "bright", "value": 0.5}]


def test_readme_testing_snippet_runs(monkeypatch, capsys):
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Write a stage in Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2 and "WorkerHost" in blocks[1]
    monkeypatch.chdir(REPO)
    exec(compile(blocks[1], "README.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "[{'name': 'bright', 'value': 1.0}]"
