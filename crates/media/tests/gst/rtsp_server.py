"""A small RTSP server for the `rtsp` source's tests (Debian's GStreamer RTSP server, python3-gi).

Usage: /usr/bin/python3 rtsp_server.py PORT WIDTH HEIGHT FPS
Serves rtsp://127.0.0.1:PORT/stream: a live videotestsrc encoded to H.264 (openh264enc),
one pipeline per client. PORT 0 picks a free port. Prints `port N` on stdout once it listens,
then runs until killed.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    port, width, height, fps = (int(a) for a in sys.argv[1:5])
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball "
        f"! video/x-raw,width={width},height={height},framerate={fps}/1 "
        f"! videoconvert ! openh264enc gop-size={fps} ! h264parse "
        f"! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    server.get_mount_points().add_factory("/stream", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{port}")
    print(f"port {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
