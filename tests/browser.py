"""Headless Chromium driven over the Chrome DevTools Protocol, for browser tests.

Chromium (Debian's ``chromium`` package) is started with ``--remote-debugging-pipe``,
so no port is opened and no extra Python package is needed. Its proxy and DNS point
nowhere, so any request that is not a local file or data URL fails.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--window-size=1280,720",
    # Any request that is not file:// or data: goes nowhere.
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """Headless Chromium controlled through the DevTools protocol over a pipe.

    Chromium reads JSON commands, each terminated by a NUL byte, from file
    descriptor 3 and writes replies and events to file descriptor 4.
    """

    def __init__(self, executable: str, profile: Path):
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def map_pipe_fds() -> None:
            # Runs in the child before exec. Copies above fd 10 first, so that
            # placing them at 3 and 4 cannot overwrite the other pipe end.
            high_read = fcntl.fcntl(to_browser_read, fcntl.F_DUPFD, 10)
            high_write = fcntl.fcntl(from_browser_write, fcntl.F_DUPFD, 10)
            os.dup2(high_read, 3)
            os.dup2(high_write, 4)

        # close_fds=False keeps the inheritable fds 3 and 4 open across exec;
        # every other fd of this process is non-inheritable and closes.
        self.process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            close_fds=False,
            preexec_fn=map_pipe_fds,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self._events: queue.Queue = queue.Queue()
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        self._replies[message["id"]] = message
                        self._lock.notify_all()
                else:
                    self._events.put(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        """Send one command and return its result, or raise RuntimeError on a protocol error."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._next_id not in self._replies:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"Chromium did not answer {method} within {timeout} s")
                self._lock.wait(remaining)
            reply = self._replies.pop(self._next_id)
        if "error" in reply:
            raise RuntimeError(f"{method} failed: {reply['error']}")
        return reply.get("result", {})

    def events(self) -> list[dict]:
        """Return and clear the events received so far."""
        collected = []
        while not self._events.empty():
            collected.append(self._events.get_nowait())
        return collected

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._to_browser)


class Page:
    """One tab: navigation, JavaScript evaluation, screenshots, and its network log."""

    def __init__(self, browser: Browser):
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 720, "deviceScaleFactor": 1, "mobile": False})

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def evaluate(self, expression: str, timeout: float = 30):
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error in {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return
            time.sleep(0.2)
        raise TimeoutError(f"{expression!r} stayed false for {timeout} s")

    def open(self, url: str) -> None:
        self.browser.events()
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'")

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


def network_report(events: list[dict], session: str) -> tuple[list[str], list[str], list[str]]:
    """Return (failed loads, non-local requests, JavaScript errors) among the events of a tab."""
    requested = {}
    failed, remote, errors = [], [], []
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            requested[params["requestId"]] = url
            if not url.startswith(("file://", "data:", "about:")):
                remote.append(url)
        elif method == "Network.loadingFailed":
            failed.append(f"{requested.get(params['requestId'], '?')}: {params.get('errorText')}")
        elif method == "Network.responseReceived" and params["response"].get("status", 200) >= 400:
            failed.append(f"{params['response']['url']}: HTTP {params['response']['status']}")
        elif method == "Runtime.exceptionThrown":
            errors.append(json.dumps(params["exceptionDetails"], ensure_ascii=False)[:500])
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(params["entry"].get("text", "")[:500])
    return failed, remote, errors
