"""The worker over the real protocol: a real ``python -m framebus.worker`` process, a real
SOCK_SEQPACKET socket pair and real memfd buffers passed with SCM_RIGHTS."""

from __future__ import annotations

import os
import select
import signal
from pathlib import Path

import numpy as np
import pytest

from framebus.protocol import encode
from framebus.testing import SharedBuffer


def ready(host, stage="test_brightness", params=None, **kw):
    w = host(stage, **kw)
    w.handshake()
    answer = w.init(params)
    assert answer["type"] == "ready", answer
    return w


def test_handshake_names_the_stage_protocol_and_pid(host):
    w = host("test_brightness")
    pong = w.request({"type": "ping", "protocol": 2, "stage": "test_brightness"})
    # No optional features: the Python SDK sleeps on the socket (no spin doorbell).
    assert pong == {"type": "pong", "protocol": 2, "stage": "test_brightness", "runtime": "python",
                    "pid": w.pid, "features": []}


def test_describe_gives_info_schema_and_defaults(host):
    d = host("test_brightness").handshake()
    info = d["info"]
    assert info["id"] == "test_brightness" and info["version"] == "0.1.0"
    assert info["description"] == "Fraction of pixels at or above a threshold."
    assert info["namespace"] is None
    assert [c["name"] for c in info["commands"]] == ["calibrate", "not_json", "aim", "zoom"]
    assert info["commands"][2]["args_schema"]["properties"]["corners"]["maximum"] == 8
    assert info["commands"][0]["locked_while_recording"] is False
    props = d["params_schema"]["properties"]
    assert d["params_schema"]["type"] == "object"
    assert d["params_schema"]["additionalProperties"] is False
    # A number with both bounds (a slider in the UI), a toggle, a select, a text box.
    assert props["threshold"]["type"] == "integer"
    assert (props["threshold"]["minimum"], props["threshold"]["maximum"]) == (0, 255)
    assert props["threshold"]["description"] == "bright level"
    assert props["invert"]["type"] == "boolean"
    assert props["mode"]["enum"] == ["mean", "count"]
    assert props["label"]["type"] == "string"
    assert d["params"] == {"threshold": 128, "gain": 1.0, "invert": False, "label": "bright",
                           "mode": "mean", "roi": None}


def test_init_validates_params_and_a_good_init_follows(host):
    w = host("test_brightness")
    w.handshake()
    bad = w.init({"threshold": 256})
    assert bad == {"type": "error", "kind": "bad_args",
                   "message": "`threshold`: 256 is above the maximum 255"}
    bad = w.init({"treshold": 20})
    assert bad["kind"] == "bad_args" and "unknown param `treshold`" in bad["message"]
    ok = w.init({"threshold": 20, "mode": "count"})
    assert ok["type"] == "ready"
    assert ok["params"]["threshold"] == 20 and ok["params"]["mode"] == "count"
    assert ok["params"]["gain"] == 1.0


def test_a_failing_start_hook_is_a_failed_init(host):
    w = host("test_start_fails")
    w.handshake()
    assert w.init() == {"type": "error", "kind": "failed", "message": "RuntimeError: camera not found"}


def test_known_pixels_give_the_expected_signals_points_widgets(host):
    w = ready(host, params={"threshold": 100})
    img = np.zeros((48, 64), np.uint8)
    img[:12] = 100  # a quarter of the rows at exactly the threshold
    img[12:, :16] = 99  # just below
    r = w.process(img, points=[{"name": "hip", "x": 10.0, "y": 20.0, "score": 0.5}], t_ns=777)
    assert r["error"] is None and r["flow"] == "continue"
    assert r["signals"] == [{"name": "bright", "value": 0.25}]
    assert r["points"] == [{"name": "hip_shifted", "x": 11.0, "y": 22.0, "score": 0.5}]
    assert r["widgets"] == [{"id": "level", "label": "Bright level", "value": 0.25, "unit": "%",
                             "min": 0.0, "max": 1.0}]
    assert r["notifications"] == []
    out = r["output"]
    assert out["frame_id"] == r["frame_id"] and out["t_ns"] == 777 and out["source"] == "camera_0"
    assert out["shape"] == [48, 64] and out["format"] == "gray8" and out["points_in"] == ["hip"]
    assert isinstance(r["process_us"], int) and r["process_us"] >= 0


def test_rgb_frames_and_a_saturated_frame_skips_and_notifies(host):
    w = ready(host, params={"threshold": 200})
    img = np.zeros((10, 20, 3), np.uint8)
    img[:, :, 1] = 255  # the test stage reads the green channel
    r = w.process(img)
    assert r["output"]["shape"] == [10, 20, 3] and r["output"]["format"] == "rgb8"
    assert r["signals"] == [{"name": "bright", "value": 1.0}]
    assert r["flow"] == "skip"
    assert r["notifications"] == [{"level": "warning", "title": "Saturated",
                                   "message": "almost every pixel is bright"}]


def test_strides_offsets_and_formats_follow_the_protocol(host):
    w = ready(host, params={"threshold": 1, "mode": "count"})
    buf = SharedBuffer(4096)
    bid = w.add_buffer(buf)
    # gray8 with a padded stride: the padding is 255, the pixels 0 → no pixel counts.
    buf.map[:] = b"\xff" * 4096
    buf.array("gray8", 10, 4, 16)[...] = 0
    r = w.frame(bid, "gray8", 10, 4, 16)
    assert r["output"]["shape"] == [4, 10] and r["signals"][0]["value"] == 0.0
    # A second frame at an offset in the same buffer: 3 of its 2x5 pixels set.
    a = buf.array("gray8", 5, 2, 5, offset=1000)
    a[...] = 0
    a[0, :3] = 9
    r = w.frame(bid, "gray8", 5, 2, 5, offset=1000)
    assert r["output"]["shape"] == [2, 5] and r["signals"][0]["value"] == 3.0
    # yuyv is (h, w, 2) and nv12 is h + h/2 rows of w.
    r = w.frame(bid, "yuyv", 8, 4, 16)
    assert r["error"] is None and r["output"]["shape"] == [4, 8, 2]
    r = w.frame(bid, "nv12", 8, 4, 8)
    assert r["error"] is None and r["output"]["shape"] == [6, 8]
    r = w.frame(bid, "bgr8", 4, 2, 12)
    assert r["error"] is None and r["output"]["shape"] == [2, 4, 3]


def test_frames_are_zero_copy_views_of_the_shared_buffer(host):
    w = ready(host, params={"threshold": 128})
    buf = SharedBuffer(64 * 48)
    bid = w.add_buffer(buf)
    frame = buf.array("gray8", 64, 48, 64)
    frame[...] = 0
    assert w.frame(bid, "gray8", 64, 48, 64)["signals"][0]["value"] == 0.0
    # Write the pixels on the host side only; the buffer is not sent again.
    frame[:24] = 255
    r = w.frame(bid, "gray8", 64, 48, 64)
    assert r["signals"][0]["value"] == 0.5 and r["output"]["first"] == 255
    frame[...] = 200
    assert w.frame(bid, "gray8", 64, 48, 64)["signals"][0]["value"] == 1.0


def test_frames_are_read_only(host):
    w = ready(host, stage="test_faulty")
    r = w.process(np.full((4, 4), 15, np.uint8))
    assert r["error"] == "ValueError: assignment destination is read-only"


def test_an_exception_is_the_frames_error_and_the_next_frame_works(host):
    w = ready(host, stage="test_faulty")
    r = w.process(np.full((4, 4), 13, np.uint8))
    assert r["error"] == f"ValueError: unlucky frame {r['frame_id']}"
    assert r["signals"] == [] and r["output"] is None
    r = w.process(np.full((4, 4), 7, np.uint8))
    assert r["error"] is None and r["signals"] == [{"name": "first", "value": 7.0}]
    assert w.proc.poll() is None


def test_results_that_are_not_json_or_too_big_are_errors_not_protocol_breaks(host):
    w = ready(host, stage="test_faulty")
    r = w.process(np.full((4, 4), 14, np.uint8))
    assert r["error"].startswith("the stage's result is not JSON: ValueError: Out of range float")
    r = w.process(np.full((4, 4), 16, np.uint8))
    assert "over the 4194304 byte limit" in r["error"]
    assert w.process(np.full((4, 4), 1, np.uint8))["error"] is None


def test_a_result_of_a_mebibyte_arrives_whole(host):
    """Linux's default unix socket buffer takes ~200 KiB datagrams; the worker raises its own."""
    w = ready(host, stage="test_faulty")
    r = w.process(np.full((4, 4), 17, np.uint8))
    assert r["error"] is None and r["output"]["big"] == "y" * (1024 * 1024)


def test_a_result_the_socket_refuses_is_the_frames_error(host):
    w = ready(host, stage="test_faulty")
    r = w.process(np.full((4, 4), 18, np.uint8))
    assert "more than the socket takes" in r["error"], r["error"]
    assert w.process(np.full((4, 4), 2, np.uint8))["signals"] == [{"name": "first", "value": 2.0}]


def test_frames_in_unknown_or_too_small_buffers_are_errors(host):
    w = ready(host)
    buf = SharedBuffer(100)
    bid = w.add_buffer(buf)
    r = w.frame(bid + 5, "gray8", 10, 10, 10)
    assert r["error"].startswith(f"unknown buffer {bid + 5}")
    r = w.frame(bid, "gray8", 10, 11, 10)
    assert "does not fit buffer" in r["error"]
    r = w.frame(bid, "gray8", 10, 10, 10, offset=1)
    assert "does not fit buffer" in r["error"]
    w.send_raw(encode({"type": "frame", "seq": 99, "buffer": bid, "offset": 0, "state": "running",
                       "points": [], "frame": {"frame_id": 5, "source": "camera_0", "source_index": 0,
                                               "t_ns": 0, "width": 10, "height": 10, "stride": 10,
                                               "format": "rgba"}}))
    r = w.recv()
    assert r["seq"] == 99 and "unknown pixel format `rgba`" in r["error"]
    assert w.frame(bid, "gray8", 10, 10, 10)["error"] is None
    w.drop_buffer(bid)
    assert w.frame(bid, "gray8", 10, 10, 10)["error"].startswith(f"unknown buffer {bid}")


def test_a_buffer_that_cannot_be_mapped_is_reported_on_its_frames(host):
    w = ready(host)
    r_fd, w_fd = os.pipe()
    try:
        w.send({"type": "buffer", "buffer": 9, "len": 100}, [r_fd])
    finally:
        os.close(r_fd)
        os.close(w_fd)
    r = w.frame(9, "gray8", 10, 10, 10)
    assert r["error"].startswith("buffer 9 could not be mapped")


def test_set_params_validates_and_applies(host):
    w = ready(host, params={"threshold": 100})
    img = np.full((10, 10), 150, np.uint8)
    assert w.process(img)["signals"][0]["value"] == 1.0
    for bad, text in [
        ({"threshold": 300}, "`threshold`: 300 is above the maximum 255"),
        ({"threshold": "high"}, '`threshold`: invalid type: "high", expected an integer'),
        ({"gain": -1}, "`gain`: -1 is below the minimum 0"),
        ({"colour": "red"}, "unknown param `colour`"),
        ([1, 2], "params must be an object"),
    ]:
        answer = w.set_params(bad)
        assert answer["type"] == "error" and answer["kind"] == "bad_args", answer
        assert text in answer["message"]
    # Nothing changed by the refused ones.
    assert w.process(img)["signals"][0]["value"] == 1.0
    answer = w.set_params({"threshold": 200, "label": "hot"})
    assert answer["type"] == "params"
    assert answer["params"]["threshold"] == 200 and answer["params"]["label"] == "hot"
    assert w.process(img)["signals"] == [{"name": "hot", "value": 0.0}]


def test_custom_commands(host):
    w = ready(host, params={"threshold": 42})
    assert w.command("calibrate", {"x": [1, 2]}) == {
        "type": "reply",
        "value": {"calibrations": 1, "threshold": 42, "echo": {"x": [1, 2]}, "array": [0, 1, 2]},
    }
    assert w.command("calibrate")["value"]["calibrations"] == 2
    assert w.command("calibrate", {"bad": True}) == {"type": "error", "kind": "bad_args",
                                                     "message": "`bad` was set"}
    assert w.command("calibrate", {"fail": True}) == {"type": "error", "kind": "failed",
                                                      "message": "RuntimeError: calibration failed"}
    assert w.command("calibrate", [1])["kind"] == "bad_args"
    assert w.command("explode") == {"type": "error", "kind": "unknown_command",
                                    "message": "`test_brightness` has no command `explode`"}
    answer = w.command("not_json")
    assert answer["kind"] == "failed" and "not JSON" in answer["message"]
    assert w.command("calibrate")["value"]["calibrations"] == 3


def test_command_args_are_validated_against_their_schema(host):
    w = ready(host)
    # A dataclass schema: validated like params; the method gets the instance.
    assert w.command("aim", {"corners": 6}) == {"type": "reply", "value": {"corners": 6, "mode": "fast"}}
    for args, text in [
        ({"corners": 9}, "`aim`: `corners`: 9 is above the maximum 8"),
        ({"corners": "6"}, "`aim`: `corners`: invalid type"),
        ({"mode": "slow"}, "`aim`: `mode`: \"slow\" is not one of"),
        ({"bogus": 1}, "`aim`: unknown param `bogus`"),
    ]:
        answer = w.command("aim", args)
        assert answer["type"] == "error" and answer["kind"] == "bad_args", answer
        assert answer["message"].startswith(text), answer
    # A JSON Schema dict: checked; the method gets the dict.
    assert w.command("zoom", {"level": 2.5}) == {"type": "reply", "value": {"level": 2.5}}
    for args, text in [
        ({}, "`zoom`: `level`: missing arg"),
        ({"level": 9}, "`zoom`: `level`: 9 is above the maximum 8"),
        ({"level": True}, "`zoom`: `level`: invalid type: true, expected number"),
        ({"level": 2, "label": 3}, "`zoom`: `label`: invalid type: 3, expected string"),
        ({"level": 2, "x": 1}, "`zoom`: unknown arg `x`"),
    ]:
        answer = w.command("zoom", args)
        assert answer == {"type": "error", "kind": "bad_args", "message": answer["message"]}, answer
        assert answer["message"].startswith(text), answer
    # The worker carries on after refused args.
    assert w.command("aim", {})["value"] == {"corners": 4, "mode": "fast"}


def test_reset_clears_state_and_heartbeat_echoes(host):
    w = ready(host)
    img = np.zeros((2, 2), np.uint8)
    w.process(img)
    assert w.process(img)["output"]["frames"] == 2
    assert w.request({"type": "reset"}) == {"type": "ok"}
    assert w.process(img)["output"]["frames"] == 1
    for n in (1, 2, 99):
        assert w.request({"type": "heartbeat", "n": n}) == {"type": "heartbeat", "n": n}


def test_frame_views_are_reused_between_frames(host):
    """The per-frame path builds no new numpy array for a buffer it has seen."""
    w = ready(host)
    buf = SharedBuffer(100)
    bid = w.add_buffer(buf)
    ids = set()
    for _ in range(5):
        r = w.frame(bid, "gray8", 10, 10, 10)
        ids.add(r["output"]["view"])
    assert len(ids) == 1


def test_shutdown_calls_stop_and_exits_0(host, tmp_path):
    stop_file = tmp_path / "stopped.txt"
    env = dict(os.environ, TEST_STOP_FILE=str(stop_file))
    w = ready(host, env=env)
    w.process(np.zeros((2, 2), np.uint8))
    assert w.request({"type": "shutdown"}) == {"type": "ok"}
    assert w.wait() == 0
    assert stop_file.read_text() == "stopped after 1 frames"


def test_eof_exits_0(host):
    w = ready(host)
    w.close_socket()
    assert w.wait() == 0


def test_eof_before_the_handshake_exits_0(host):
    w = host("test_brightness")
    w.close_socket()
    assert w.wait() == 0


@pytest.mark.parametrize("ping, text", [
    ({"type": "ping", "protocol": 1, "stage": "test_brightness"},
     "protocol 1 is not supported: this worker speaks protocol 2"),
    ({"type": "ping", "protocol": "2", "stage": "test_brightness"}, "protocol '2' is not supported"),
    ({"type": "ping", "protocol": 2, "stage": "other"},
     "asked for stage `other`, but this worker was started for `test_brightness`"),
    ({"type": "describe"}, "protocol error: `describe` before the `ping` handshake"),
    ({"type": "launch"}, "protocol error: unknown message type `launch`"),
])
def test_a_bad_handshake_is_fatal_with_exit_2(host, ping, text):
    w = host("test_brightness")
    w.send_raw(encode(ping))  # unchecked: some of these do not fit the wire schema on purpose
    answer = w.recv()
    assert answer["type"] == "fatal" and text in answer["message"], answer
    assert w.recv() is None
    assert w.wait() == 2


@pytest.mark.parametrize("stage, module, text", [
    ("no_such_stage", "stages_for_tests", "module stages_for_tests has no stage `no_such_stage` "
                                          "(stages: test_brightness, test_faulty, test_hang, test_start_fails)"),
    ("x", "no_such_module", "cannot import module `no_such_module`: ModuleNotFoundError"),
])
def test_a_missing_stage_or_module_is_fatal_with_exit_2(host, stage, module, text):
    w = host(stage, module=module)
    answer = w.request({"type": "ping", "protocol": 2, "stage": stage})
    assert answer["type"] == "fatal" and text in answer["message"], answer
    assert w.wait() == 2


@pytest.mark.parametrize("data", [b"{not json", b"[1,2]", b'{"kind":"frame"}', b"\xff\xfe",
                                  b'{"type":"frame","seq":1}'])
def test_garbage_from_the_host_is_fatal_with_exit_2(host, data):
    w = ready(host)
    w.send_raw(data)
    answer = w.recv()
    assert answer["type"] == "fatal" and answer["message"].startswith("protocol error:"), answer
    assert w.wait() == 2


def test_a_buffer_without_its_fd_is_fatal(host):
    w = ready(host)
    w.send({"type": "buffer", "buffer": 1, "len": 10})
    answer = w.recv()
    assert answer["type"] == "fatal" and "came with 0 file descriptors" in answer["message"]
    assert w.wait() == 2


def test_the_worker_dies_with_its_host_even_inside_process(host, tmp_path):
    """The host is SIGKILLed while the stage blocks in process(): the worker must not outlive
    it (PR_SET_PDEATHSIG). A pipe whose only writer is the worker tells when it is gone."""
    import subprocess
    import sys

    r_fd, w_fd = os.pipe()
    script = tmp_path / "middle.py"
    script.write_text(MIDDLE_HOST)
    env = dict(os.environ, TEST_PIPE_FD=str(w_fd),
               PYTHONPATH=os.pathsep.join([str(Path(__file__).parent)] + sys.path))
    middle = subprocess.Popen([sys.executable, str(script)], pass_fds=(w_fd,), env=env)
    os.close(w_fd)
    try:
        with os.fdopen(r_fd, "rb", buffering=0) as pipe:
            assert pipe.read(1) == b"x"  # the worker is inside process()
            middle.send_signal(signal.SIGKILL)
            middle.wait()
            readable, _, _ = select.select([pipe], [], [], 20.0)  # a bound, not a measurement
            assert readable, "the worker outlived its host"
            assert pipe.read(1) == b""  # every writer is gone: the worker died
    finally:
        if middle.poll() is None:
            middle.kill()
            middle.wait()


MIDDLE_HOST = """
import os, numpy as np
from framebus.testing import WorkerHost, SharedBuffer
fd = int(os.environ["TEST_PIPE_FD"])
w = WorkerHost("stages_for_tests", "test_hang", pass_fds=(fd,))
os.close(fd)
w.handshake()
assert w.init()["type"] == "ready"
buf = SharedBuffer(4)
w.add_buffer(buf, 1)
w.send({"type": "frame", "seq": 1, "buffer": 1, "offset": 0, "frame": {"frame_id": 1,
        "source": "camera_0", "source_index": 0, "t_ns": 0, "width": 2, "height": 2,
        "stride": 2, "format": "gray8"}, "state": "running", "points": []})
w.recv()  # never comes: the host is killed while it waits
"""
