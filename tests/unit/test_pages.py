"""The staging grid: a column per platform and BLAS variant, the sdist on its own line."""

from __future__ import annotations

from pathlib import Path

from numpy_wheels.config.build import read_project_config
from numpy_wheels.model.matrix import load_catalogue, select
from numpy_wheels.staging.pages import Record, index_html

ROOT = Path(__file__).resolve().parents[2]


def _record(name: str) -> Record:
    return Record(
        filename=name, project="numpy", version="2.4.6", sha256="ab" * 32, size=10**7, uploaded="t"
    )


def test_grid_has_a_cell_for_each_variant_and_the_sdist() -> None:
    project = read_project_config(ROOT)
    expected = select(load_catalogue(), build=project.build, skip=project.skip)
    staged = [
        "numpy-2.4.6-cp313-cp313-macosx_11_0_arm64.whl",
        "numpy-2.4.6-cp313-cp313-macosx_14_0_arm64.whl",
    ]
    page = index_html([_record(n) for n in staged], project="numpy", expected=expected, sdist=True)
    assert "2.4.6: 2 of 72 expected files" in page
    assert "<th>macosx_arm64</th>" in page
    assert "<th>macosx_arm64+accelerate</th>" in page
    assert page.count("class='present'") == 2
    assert "numpy-2.4.6.tar.gz missing" in page
    assert page.count("class='missing'") == 70  # 69 wheels and the sdist
    page = index_html(
        [_record(n) for n in [*staged, "numpy-2.4.6.tar.gz"]],
        project="numpy",
        expected=expected,
        sdist=True,
    )
    assert "<th>sdist</th><td class='present'>" in page


def test_a_wheel_with_auditwheels_older_policy_tags_fills_its_cell() -> None:
    """MB_ML_VER=2014: auditwheel adds the tags of the older policy the wheel is eligible for;
    the grid counts it as the manifest's wheel and links the staged file, as the release gate
    takes it (it was shown missing, the file under "Other files")."""
    from numpy_wheels.model.matrix import with_multibuild

    cp312 = with_multibuild(load_catalogue().find("cp312-manylinux_x86_64"), {"MB_ML_VER": "2014"})
    written = (
        "numpy-2.4.6-cp312-cp312-manylinux1_x86_64.manylinux2014_x86_64.manylinux_2_17_x86_64"
        ".manylinux_2_5_x86_64.whl"
    )
    page = index_html([_record(written)], project="numpy", expected=[cp312], sdist=False)
    assert "2.4.6: 1 of 1 expected files" in page
    assert f"<td class='present'><a href='{written}#sha256=" in page
    assert "Other files" not in page
