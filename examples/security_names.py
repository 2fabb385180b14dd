"""File names from the gateway are untrusted: what the sanitiser makes of hostile ones.

Run: python examples/security_names.py
"""

from as2gw_async.files import safe_filename, safe_message_dirname


# --8<-- [start:example]
def main() -> dict[str, str]:
    hostile = [
        "../../etc/passwd",  # path traversal
        "C:\\Windows\\System32\\evil.dll",  # a Windows path
        "CON.txt",  # a Windows device name
        "invoice\u202efdp.exe",  # a bidi override disguising ".exe" as ".pdf"
        "report\x00.txt",  # a NUL byte
        "..",  # not a name at all
    ]
    safe = {name: safe_filename(name) for name in hostile}
    for name, result in safe.items():
        print(f"{name!r:40} -> {result!r}")
    # Message ids become directory names the same way, one id to one name:
    print(safe_message_dirname("<90766548.41.1573209810390@as2gateway.com>"))
    return safe


# --8<-- [end:example]


if __name__ == "__main__":
    main()
