"""The sans-I/O parsers on the captured and constructed files of ``testcases/``, and edge cases."""

from __future__ import annotations

import pytest

from drivers.system.proc import parse_diskstats, parse_loadavg, parse_meminfo
from drivers.system.tests.cases import CASE_NAMES, CASES, captured_vcgencmd, expected, root
from drivers.system.thermal import parse_thermal_temp
from drivers.system.throttling import ThrottleFlags, parse_get_throttled, parse_hwmon_alarm
from edge_agent.errors import ParseError


@pytest.mark.parametrize("name", CASE_NAMES)
def test_meminfo(name: str) -> None:
    memory = parse_meminfo((root(name) / "proc" / "meminfo").read_text())
    want = expected(name)["parsed"]["meminfo"]
    assert memory.total_bytes == want["total_bytes"]
    assert memory.available_bytes == want["available_bytes"]
    assert 0 < memory.available_ratio < 1


@pytest.mark.parametrize("name", CASE_NAMES)
def test_loadavg(name: str) -> None:
    load = parse_loadavg((root(name) / "proc" / "loadavg").read_text())
    want = expected(name)["parsed"]["loadavg"]
    assert (load.load_1m, load.load_5m, load.load_15m) == (
        want["load_1m"],
        want["load_5m"],
        want["load_15m"],
    )
    assert (load.runnable, load.tasks, load.last_pid) == (
        want["runnable"],
        want["tasks"],
        want["last_pid"],
    )


@pytest.mark.parametrize("name", CASE_NAMES)
def test_diskstats(name: str) -> None:
    devices = parse_diskstats((root(name) / "proc" / "diskstats").read_text())
    want = expected(name)["parsed"]["diskstats"]
    assert len(devices) == want["devices"]
    device = devices[want["device"]]
    assert device.name == want["device"]
    assert device.sectors_written == want["sectors_written"]
    assert device.bytes_written == want["bytes_written"]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_thermal_and_throttling(name: str) -> None:
    want = expected(name)["parsed"]
    temp = root(name) / "sys" / "class" / "thermal" / "thermal_zone0" / "temp"
    if want["thermal_temp_c"] is None:
        assert not temp.exists()
    else:
        assert parse_thermal_temp(temp.read_text()) == want["thermal_temp_c"]
    output = captured_vcgencmd(name)
    if want["get_throttled"] is None:
        assert output is None
    else:
        assert output is not None
        flags = parse_get_throttled(output.read_text())
        assert flags.raw == want["get_throttled"]["raw"]
        assert flags.known() == {k: v for k, v in want["get_throttled"].items() if k != "raw"}
    alarms = list((root(name) / "sys").glob("class/hwmon/hwmon*/in0_lcrit_alarm"))
    if want["hwmon_alarm_under_voltage"] is None:
        assert alarms == []
    else:
        (alarm,) = alarms
        assert parse_hwmon_alarm(alarm.read_text()).known() == {
            "under_voltage": want["hwmon_alarm_under_voltage"]
        }


def test_every_case_says_what_it_typifies() -> None:
    for name in CASE_NAMES:
        source = (CASES / name / "SOURCE.md").read_text(encoding="utf-8")
        assert "captured" in source.lower() or "constructed" in source.lower(), name
        assert "Raspberry Pi" in source or "x86-64" in source, name


def test_diskstats_of_older_kernels() -> None:
    # Linux 3.10 (14 fields, from the /proc/diskstats explanation on flamingbytes.com) and
    # 4.19 (18 fields: discards added in 4.18) next to a 5.5+ line (20 fields).
    text = (
        "   8       0 sda 20076 3 798556 75864 23573766 4732398 253002144 24887356 0 9814563 "
        "24947775\n"
        "   8       1 sda1 24517060 658117 3634830626 137524328 5147969 1899656 2471640416 "
        "126443415 0 15730970 221884500 0 0 0 0\n"
        " 179       0 mmcblk0 1 0 8 0 2 0 16 0 0 0 0 0 0 0 0 3 0\n"
    )
    devices = parse_diskstats(text)
    assert devices["sda"].sectors_written == 253002144
    assert devices["sda"].bytes_written == 253002144 * 512
    assert devices["sda1"].sectors_written == 2471640416
    assert devices["mmcblk0"].writes_completed == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" 179 0 mmcblk0 1 2 3\n", "has 6 fields"),
        (" 179 0 mmcblk0 1 0 8 0 2 0 1x 0 0 0 0\n", "is not '<major>"),
        (" 179 0 /dev/mmcblk0 1 0 8 0 2 0 16 0 0 0 0\n", "is not '<major>"),
    ],
)
def test_diskstats_refuses_what_the_kernel_cannot_print(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_diskstats(text)


def test_empty_diskstats_has_no_devices() -> None:
    assert parse_diskstats("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("MemTotal:       3882424 kB\nMemFree:         2611520 kB\n", "no MemAvailable"),
        ("MemAvailable:   3349712 kB\n", "no MemTotal"),
        ("MemTotal:             0 kB\nMemAvailable:         0 kB\n", "MemTotal: 0"),
        ("MemTotal 3882424 kB\n", "line 1 is not"),
        ("", "no MemTotal"),
    ],
)
def test_meminfo_refuses(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_meminfo(text)


@pytest.mark.parametrize(
    "text", ["", "0.03 0.36 0.67 2/89", "0.03 0.36 0.67 2/89 21859 9", "a b c d/e f"]
)
def test_loadavg_refuses(text: str) -> None:
    with pytest.raises(ParseError, match="loadavg is not"):
        parse_loadavg(text)


@pytest.mark.parametrize(("text", "celsius"), [("48686\n", 48.686), ("-5250\n", -5.25), ("0", 0.0)])
def test_thermal_temp(text: str, celsius: float) -> None:
    assert parse_thermal_temp(text) == celsius


@pytest.mark.parametrize("text", ["", "48.6\n", "hot", "12345678"])
def test_thermal_temp_refuses(text: str) -> None:
    with pytest.raises(ParseError, match="not millidegrees"):
        parse_thermal_temp(text)


def test_get_throttled_bits() -> None:
    flags = parse_get_throttled("throttled=0x80008\n")
    assert flags.soft_temp_limit and flags.soft_temp_limit_occurred
    assert not (flags.under_voltage or flags.throttled or flags.freq_capped)
    assert parse_get_throttled("throttled=0x20000").known() == {
        "under_voltage": False,
        "freq_capped": False,
        "throttled": False,
        "soft_temp_limit": False,
        "under_voltage_occurred": False,
        "freq_capped_occurred": True,
        "throttled_occurred": False,
        "soft_temp_limit_occurred": False,
    }


@pytest.mark.parametrize(
    "text",
    ["VCHI initialization failed\n", "throttled=50005", "throttled=0x", "throttled=0x1ffffffff"],
)
def test_get_throttled_refuses(text: str) -> None:
    with pytest.raises(ParseError, match="no 'throttled=0x"):
        parse_get_throttled(text)


def test_hwmon_alarm() -> None:
    assert parse_hwmon_alarm("0\n") == ThrottleFlags(under_voltage=False)
    assert parse_hwmon_alarm("1\n").known() == {"under_voltage": True}
    with pytest.raises(ParseError, match="not 0 or 1"):
        parse_hwmon_alarm("2\n")
