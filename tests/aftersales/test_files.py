"""The after-sales files: each bad input is refused naming its file, line and field."""

from __future__ import annotations

import pytest

from linespeed.aftersales.errors import AftersalesFileError
from linespeed.aftersales.files import (
    DEFAULT_REGIONS,
    Delivery,
    Month,
    NetworkRow,
    Region,
    parse_deliveries,
    parse_network,
    parse_regions,
)
from linespeed.aftersales.params import parse_parameters


def problems(error: pytest.ExceptionInfo[AftersalesFileError]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


def test_deliveries_read_with_a_bom_and_blank_lines() -> None:
    data = "\ufeffdeliveries,month\r\n10,2025-01\r\n\r\n0,2025-03\r\n".encode()
    assert parse_deliveries(data, "d.csv") == [
        Delivery(Month(2025, 1), 10),
        Delivery(Month(2025, 3), 0),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "month,deliveries\n2025-02,1\n2025-01,2\n",
            "d.csv:3: month: 2025-01 is not after 2025-02 above it (months strictly increasing)",
        ),
        (
            "month,deliveries\n2025-02,1\n2025-02,2\n",
            "d.csv:3: month: 2025-02 is not after 2025-02 above it (months strictly increasing)",
        ),
        ("month,deliveries\n2025-13,1\n", "d.csv:2: month: '2025-13' is not a month YYYY-MM"),
        ("month,deliveries\n2025-01,-5\n", "d.csv:2: deliveries: '-5' is not a whole number >= 0"),
        ("month,deliveries\n2025-01,1.5\n", "d.csv:2: deliveries: '1.5' is not a whole number"),
        ("month,deliveries\n2025-01,lots\n", "d.csv:2: deliveries: 'lots' is not a whole number"),
        ("", "d.csv:1: the file is empty; its first line is the header month,deliveries"),
        (",\n, \n", "d.csv:1: the file has no header; its first line is the header month,"),
        ("\ufeff", "d.csv:1: the file is empty"),
        ("month,deliveries\n2025-01,1\n\x00", "d.csv:3: holds a NUL character"),
        ("month,deliveries\n", "d.csv:2: no rows under the header"),
        ("month\n2025-01\n", "d.csv:1: deliveries: missing column 'deliveries' in the header"),
        ("month,deliveries\n2025-01\n", "d.csv:2: 1 fields; the header has 2"),
    ],
)
def test_bad_deliveries(text: str, expected: str) -> None:
    with pytest.raises(AftersalesFileError) as error:
        parse_deliveries(text.encode(), "d.csv")
    assert problems(error)[0].startswith(expected)


def test_regions() -> None:
    data = b"region,share\neu,0.6\nus,0.2995\ncn,0.1\n"
    assert parse_regions(data, "r.csv") == [
        Region("eu", 0.6),
        Region("us", 0.2995),
        Region("cn", 0.1),
    ]
    assert (Region("all", 1.0),) == DEFAULT_REGIONS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("region,share\neu,1.2\nus,-0.2\n", "r.csv:3: share: -0.2 is below 0"),
        (
            "region,share\neu,0.6\nus,0.3\n",
            "r.csv: share: the shares sum to 0.9; they must sum to 1 (+- 0.001)",
        ),
        (
            "region,share\neu,0.6\nus,0.402\n",
            "r.csv: share: the shares sum to 1.002; they must sum to 1 (+- 0.001)",
        ),
        ("region,share\neu,half\nus,0.5\n", "r.csv:2: share: 'half' is not a number"),
        ("region,share\neu,0.5\neu,0.5\n", "r.csv:3: region: 'eu' is named twice"),
        ("region,share\n,1\n", "r.csv:2: region: '' is not a region name"),
        ("share\n1\n", "r.csv:1: region: missing column 'region' in the header"),
        ("", "r.csv:1: the file is empty"),
    ],
)
def test_bad_regions(text: str, expected: str) -> None:
    with pytest.raises(AftersalesFileError) as error:
        parse_regions(text.encode(), "r.csv")
    assert any(problem.startswith(expected) for problem in problems(error)), problems(error)


REGIONS = [Region("eu", 0.5), Region("us", 0.5)]


def test_network() -> None:
    data = b"region,month,bays,chargers\nus,2025-03,4,40\neu,2025-01,2,20\n"
    assert parse_network(data, "n.csv", REGIONS) == [
        NetworkRow("us", Month(2025, 3), 4, 40),
        NetworkRow("eu", Month(2025, 1), 2, 20),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "region,month,bays,chargers\neu,2025-01,2,20\nap,2025-01,1,1\n",
            "n.csv:3: region: unknown region 'ap'; the regions are eu, us",
        ),
        ("region,month,bays,chargers\neu,2025-1,2,20\n", "n.csv:2: month: '2025-1' is not a month"),
        ("region,month,bays,chargers\neu,2025-01,x,20\n", "n.csv:2: bays: 'x' is not a whole"),
        (
            "region,month,bays,chargers\neu,2025-01,2,-1\n",
            "n.csv:2: chargers: '-1' is not a whole number >= 0",
        ),
        (
            "region,month,bays,chargers\neu,2025-01,2,2\neu,2025-01,3,3\n",
            "n.csv:3: month: eu 2025-01 is planned twice (also on line 2)",
        ),
        ("region,month,bays\neu,2025-01,2\n", "n.csv:1: chargers: missing column 'chargers'"),
        ("region,month,bays,chargers,x\n", "n.csv:1: x: unknown column 'x' in the header"),
        ("\n\n", "n.csv:1: the file is empty"),
    ],
)
def test_bad_network(text: str, expected: str) -> None:
    with pytest.raises(AftersalesFileError) as error:
        parse_network(text.encode(), "n.csv", REGIONS)
    assert any(problem.startswith(expected) for problem in problems(error)), problems(error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("retention: 1.5\n", "p.yaml:1: retention: '1.5' is not a number > 0 and <= 1"),
        ("visits: 1\n", "p.yaml:1: visits: unknown parameter"),
        ("\nutilisation: '0.5'\n", "p.yaml:2: utilisation: '0.5' is not a number"),
        ("- 1\n", "p.yaml:1: is not a mapping of parameter: value"),
    ],
)
def test_bad_parameters(text: str, expected: str) -> None:
    with pytest.raises(AftersalesFileError) as error:
        parse_parameters(text.encode(), "p.yaml")
    assert problems(error)[0].startswith(expected), problems(error)
