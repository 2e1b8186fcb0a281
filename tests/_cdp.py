"""Headless Chromium driven over the DevTools protocol, for UI checks that need a click.

`--dump-dom` renders a page but cannot interact with it; MLflow's UI shows a dataset's schema and a
model's signature only after a click. This drives the system `chromium` through its DevTools
websocket (aiohttp, which Ray's extra installs) with three verbs: open a URL, click the element
whose text matches, and read the page's visible text.
"""
from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


class Browser:
    def __init__(self, executable: str, timeout: float = 60):
        self.timeout = timeout
        self.profile = Path(tempfile.mkdtemp(prefix="augbench-cdp-"))
        self.proc = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={self.profile}", "--window-size=1600,2400", "--remote-debugging-port=0",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._connect())
        self._id = 0

    async def _connect(self):
        import aiohttp

        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{self.port}/json/list") as response:
            pages = [p for p in await response.json(content_type=None) if p["type"] == "page"]
        self.ws = await self.session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)

    async def _call(self, method: str, params: dict | None = None) -> dict:
        self._id += 1
        await self.ws.send_str(json.dumps({"id": self._id, "method": method, "params": params or {}}))
        while True:
            message = json.loads((await self.ws.receive()).data)
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.loop.run_until_complete(self._call("Runtime.evaluate", {
            "expression": expression, "returnByValue": True, "awaitPromise": True}))
        return result.get("result", {}).get("value")

    def open(self, url: str) -> None:
        self.loop.run_until_complete(self._call("Page.navigate", {"url": url}))

    def text(self) -> str:
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def wait_for_text(self, needle: str) -> str:
        """The page's visible text once ``needle`` shows (the UI renders after its API calls return)."""
        deadline = time.monotonic() + self.timeout
        while True:
            text = self.text()
            if needle in text:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} never showed; page text: {text[:2000]}")
            time.sleep(0.25)

    def click_text(self, needle: str) -> None:
        """Click the innermost visible element whose own text contains ``needle``."""
        script = f"""(() => {{
            const want = {json.dumps(needle)};
            const all = [...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null
                && (e.innerText || '').includes(want));
            const inner = all.filter(e => ![...e.children].some(c => (c.innerText || '').includes(want)));
            if (!inner.length) return false;
            inner[0].click();
            return true; }})()"""
        deadline = time.monotonic() + self.timeout
        while not self.evaluate(script):
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing to click with text {needle!r}; page text: {self.text()[:2000]}")
            time.sleep(0.25)

    def close(self) -> None:
        try:
            if hasattr(self, "ws"):
                self.loop.run_until_complete(self.ws.close())
                self.loop.run_until_complete(self.session.close())
                self.loop.close()
        finally:
            self.proc.kill()
            self.proc.wait(timeout=30)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
