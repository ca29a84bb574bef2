"""The skeleton ``edge-agent experiment new`` writes: small, working, with a passing test.

The skeleton watches one stream against a limit: it publishes whether the value is above the
limit and records an event each time it crosses it. Makers replace the logic and keep the
shape (manifest, class, README, tests).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError

MANIFEST = """name = "{name}"
version = "0.1.0"
description = "Watches {reads} against a limit"
entry = "experiment:{cls}"
reads = ["{{stream}}"]
writes = ["above"]
events = ["crossed"]
timer = "1m"

[params.stream]
type = "str"
default = "{reads}"
description = "the stream to watch"

[params.limit]
type = "float"
default = 20.0
description = "the limit, in the stream's unit"
"""

CODE = '''"""{name}: publishes whether {reads} is above a limit, with an event on each crossing."""

from __future__ import annotations

from edge_agent import units
from edge_agent.experiments import Experiment
from edge_agent.readings import Quality, Reading


class {cls}(Experiment):
    """Compare each reading of the watched stream with ``limit``."""

    async def on_start(self) -> None:
        self.above: bool | None = None

    async def on_reading(self, reading: Reading) -> None:
        if reading.quality & (Quality.OUT_OF_RANGE | Quality.CHECKSUM_FAILED):
            return  # flagged values are not trusted
        if not isinstance(reading.value, int | float):
            return
        above = reading.value > self.params["limit"]
        self.ctx.emit("above", above, units.NONE, at=reading.time)
        if self.above is not None and above != self.above:
            word = "above" if above else "below"
            self.ctx.event("crossed", f"{{reading.stream}} went {{word}} {{self.params['limit']}}")
        self.above = above

    async def on_timer(self, now: float) -> None:
        self.log.debug("still watching %s", self.params["stream"])
'''

README = """# {name}

Watches `{reads}` and publishes `{name}/above` (true or false) for each reading, with a
`crossed` event whenever the value crosses `limit`.

## Parameters

| name | default | meaning |
|---|---|---|
| `stream` | `{reads}` | the stream to watch |
| `limit` | `20.0` | the limit, in the stream's unit |

## Try it

```sh
edge-agent experiment test {folder}
edge-agent experiment run {folder} --duration 30          # beside simulated sensors
edge-agent experiment run {folder} --trace lab.jsonl      # on a recorded trace
```

Enable it on a Pi by copying this folder into the agent's `experiments_dir` and adding to the
config:

```toml
[[experiment]]
name = "{name}"
params = {{ limit = 25.0 }}
```
"""

TEST = '''"""{name}: replay a few readings and check what it publishes."""

from pathlib import Path

from edge_agent.experiments.replay import replay
from edge_agent.readings import Reading

FOLDER = Path(__file__).parents[1]


def test_publishes_above_and_an_event_on_each_crossing():
    readings = [Reading("{reads}", t, v, "Cel") for t, v in ((0, 18.0), (60, 21.5), (120, 19.0))]
    result = replay(FOLDER, readings, params={{"limit": 20.0}})
    assert [r.value for r in result.stream("above")] == [False, True, False]
    assert [e.message.split()[-2] for e in result.events] == ["above", "below"]


def test_other_streams_are_ignored():
    result = replay(FOLDER, [Reading("elsewhere/x", 0, 99.0, "Cel")])
    assert result.readings == []
'''


def class_name(name: str) -> str:
    """``frost-watch`` -> ``FrostWatch``."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def create_experiment(directory: Path, name: str, *, reads: str = "air/temperature") -> Path:
    """Write the skeleton of experiment ``name`` into ``directory/<name with _>``.

    Raises:
        ConfigError: the folder exists already (nothing is overwritten).
    """
    folder = directory / name.replace("-", "_")
    if folder.exists():
        raise ConfigError(f"{folder} exists already; choose another name or --dir")
    values = {"name": name, "cls": class_name(name), "reads": reads, "folder": folder}
    (folder / "tests").mkdir(parents=True)
    (folder / "experiment.toml").write_text(MANIFEST.format(**values), encoding="utf-8")
    (folder / "experiment.py").write_text(CODE.format(**values), encoding="utf-8")
    (folder / "README.md").write_text(README.format(**values), encoding="utf-8")
    test_file = folder / "tests" / f"test_{folder.name}.py"
    test_file.write_text(TEST.format(**values), encoding="utf-8")
    return folder


__all__ = ["class_name", "create_experiment"]
