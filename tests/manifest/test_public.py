"""The public surface of reconciler.manifest is what __all__ says, and stays importable."""

from __future__ import annotations

import reconciler.manifest as manifest


def test_all_names_exist() -> None:
    """Every name in __all__ is defined, and nothing is listed twice."""
    assert len(set(manifest.__all__)) == len(manifest.__all__)
    for name in manifest.__all__:
        assert hasattr(manifest, name), name


def test_the_interface_other_layers_build_on() -> None:
    """load, LoadResult, ManifestError, ContactResource, ContactSpec and GroupResource."""
    assert {
        "load",
        "LoadResult",
        "ManifestError",
        "ContactResource",
        "ContactSpec",
        "GroupResource",
    } <= set(manifest.__all__)
    error = manifest.ManifestError("a.yaml", 3, 5, "unknown field 'x'", "remove it")
    assert str(error) == "a.yaml:3:5: unknown field 'x'\n  hint: remove it"
