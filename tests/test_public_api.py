"""loader's public API is exactly its sorted __all__ (as httpx keeps its exports honest)."""

from __future__ import annotations

import loader


def test_all_is_sorted_and_complete() -> None:
    """Every public name of the package is in __all__, and __all__ is sorted."""
    public = {name for name in dir(loader) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(loader, name)).__name__ == "module"}
    modules.add("annotations")  # from __future__ import annotations

    assert (loader.__all__, set(loader.__all__)) == (sorted(loader.__all__), public - modules)
