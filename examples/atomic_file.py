"""Write your own file the way downloads are written: complete, verified and durable, or not at all.

Run: python examples/atomic_file.py out/
"""

import asyncio
import sys
from pathlib import Path

from as2gw_async.files import AtomicFile


# --8<-- [start:example]
async def main(dest: Path, data: bytes) -> Path:
    # The bytes go to ".report.csv.<random>.part" beside the target; leaving the block
    # checks the size, fsyncs and renames. An error or a cancellation inside the block
    # deletes the temporary file, and nothing appears at dest / "report.csv".
    async with AtomicFile(dest / "report.csv", expected_size=len(data), sha256=True) as f:
        for start in range(0, len(data), 65536):
            await f.write(data[start : start + 65536])
    print(f.path, f.bytes_written, f.sha256)
    return f.path


# --8<-- [end:example]


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), b"id,amount\n1,100\n"))
