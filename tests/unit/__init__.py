from pathlib import Path

# Public history files (MIT; sources and licence in histories/README.md), kept inside the repo.
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "histories"
