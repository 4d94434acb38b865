"""An on-disk cache of embeddings by content digest, so a second benchmark run over the same corpus
does not embed again (embedding SciFact's 5,183 abstracts takes ~20 minutes on this 2-core machine).

One SQLite file per cache folder: ``digest -> float32 bytes``. The digest (``Embedder.digest``) names
the model, its settings and the exact text embedded, so a changed model or text is a miss.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

DEFAULT = Path(os.environ.get("KB_BENCH_CACHE", "/var/cache/kb/bench"))


class VectorCache:
    def __init__(self, folder: Path = DEFAULT):
        folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(folder / "vectors.sqlite3"), timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS vec (digest TEXT PRIMARY KEY, v BLOB NOT NULL)")

    def get_many(self, digests):
        import numpy as np

        out = {}
        digests = list(digests)
        for i in range(0, len(digests), 500):
            chunk = digests[i:i + 500]
            rows = self.db.execute(f"SELECT digest, v FROM vec WHERE digest IN ({','.join('?' * len(chunk))})",
                                   chunk)
            out.update({d: np.frombuffer(v, dtype=np.float32) for d, v in rows})
        return out

    def put_many(self, pairs):
        self.db.executemany("INSERT OR REPLACE INTO vec (digest, v) VALUES (?, ?)",
                            [(d, v.astype("float32").tobytes()) for d, v in pairs])
        self.db.commit()
