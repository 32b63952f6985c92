"""A TCP relay on 127.0.0.1 in front of a server whose connections can be cut, as a room's Wi-Fi
cuts them: :meth:`DropProxy.drop` closes every open connection (the page's WebSocket included)
and refuses new ones for a while, then lets the browser back in. Loopback only."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

CHUNK = 65536


class DropProxy:
    """Relays ``127.0.0.1:<port>`` to ``127.0.0.1:<target>``, one thread pair per connection."""

    def __init__(self, target: int) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._refuse_until = 0.0
        self._closed = False
        self.dropped = 0  # connections cut by drop()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop(self, seconds: float) -> None:
        """Cut every open connection now, and close each new one at once for `seconds`."""
        with self._lock:
            self._refuse_until = time.monotonic() + seconds
            cut, self._open = self._open, set()
            self.dropped += len(cut)
        for sock in cut:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.drop(0)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if time.monotonic() < self._refuse_until:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(CHUNK):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._open -= {src, dst}


@contextlib.contextmanager
def drop_proxy(target: int) -> Iterator[DropProxy]:
    proxy = DropProxy(target)
    try:
        yield proxy
    finally:
        proxy.close()
