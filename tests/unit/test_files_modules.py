"""`as2gw_async.files` is a facade over filenames, atomic and archives: old imports still work."""

from __future__ import annotations

from as2gw_async import archives, atomic, filenames, files


def test_every_public_name_is_reexported_as_the_same_object() -> None:
    modules = (filenames, atomic, archives)
    owned = {name: module for module in modules for name in module.__all__}
    assert sorted(owned) == sorted(files.__all__)
    for name, module in owned.items():
        assert getattr(files, name) is getattr(module, name), name


def test_each_module_has_one_job() -> None:
    assert set(filenames.__all__) == {
        "ensure_directory",
        "remove_created_directories",
        "parse_content_disposition",
        "resolve_destination",
        "safe_filename",
        "safe_message_dirname",
    }
    assert "AtomicFile" in atomic.__all__
    assert "extract_zip" in archives.__all__
