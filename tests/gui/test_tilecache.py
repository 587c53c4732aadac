"""The byte-bounded LRU cache of display tiles."""

from __future__ import annotations

from muralstudio.gui.tilecache import TileCache


def test_tile_cache_lru_order():
    c = TileCache(30)
    c.put("a", 1, 10)
    c.put("b", 2, 10)
    c.put("c", 3, 10)
    assert c.get("a") == 1  # a is now the most recent
    c.put("d", 4, 10)
    assert "b" not in c and "a" in c and c.nbytes == 30
