"""``ml4t.cache``: never compute the same thing twice (issue #16).

A content-addressed cache: an entry's key is what is computed (the data's fingerprint, Polars' serialized plan
of each expression or the bytecode of user code, the parameters, the versions of ml4t and Polars), never how
the code is spelt; its value is a Polars frame stored as Parquet under the cache directory
(``ML4T_CACHE_DIR``, default the user's cache directory), written atomically, locked against concurrent
writers, checked on read (a damaged entry is warned about, removed and recomputed, never trusted) and evicted
least-recently-used beyond a size limit. This package is a leaf layer: the sweep, the event mode and the CLI
use it; it imports nothing above ``ml4t.data``.
"""

from ml4t.cache._config import CacheSettings, configure, parse_size, resolve, settings, store
from ml4t.cache._entry import FORMAT
from ml4t.cache._keys import Key, Uncacheable, expression_key, function_key, key_of, slot_key
from ml4t.cache._reasons import block_hashes, describe, explain_miss
from ml4t.cache._report import CacheReport, SweepCacheReport, summarize
from ml4t.cache._store import LEVELS, Entry, EntryInfo, Store
from ml4t.errors import CacheWarning

__all__ = [
    "FORMAT",
    "LEVELS",
    "CacheReport",
    "CacheSettings",
    "CacheWarning",
    "Entry",
    "EntryInfo",
    "Key",
    "Store",
    "SweepCacheReport",
    "Uncacheable",
    "block_hashes",
    "configure",
    "describe",
    "explain_miss",
    "expression_key",
    "function_key",
    "key_of",
    "parse_size",
    "resolve",
    "settings",
    "slot_key",
    "store",
    "summarize",
]
