"""The Dockerfile's structure (no Docker engine here, so the image is checked, not built):
multi-stage, an unprivileged numeric USER, exec-form entry points through tini, no dev
dependencies, and a build context limited by .dockerignore."""
import json
import re
from configparser import ConfigParser

from dockerfile_parse import DockerfileParser

from tests.k8s.manifests import ROOT, base, of_kind, pod_spec

PACKAGES = ("actors", "db", "fakes", "scheduler", "web")


def instructions() -> list[dict]:
    return DockerfileParser(str(ROOT / "Dockerfile")).structure


def stages() -> list[list[dict]]:
    found = []
    for instruction in instructions():
        if instruction["instruction"] == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def final_stage() -> list[dict]:
    return stages()[-1]


def values(stage, name) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == name]


def test_the_image_is_built_in_stages_and_runs_only_the_last():
    assert len(stages()) >= 2
    froms = [values(stage, "FROM")[0] for stage in stages()]
    assert froms[0].endswith(" AS build") and froms[-1].endswith(" AS runtime")
    copies = values(final_stage(), "COPY")
    # The runtime stage takes the finished virtual environment, not the build tools.
    assert "--from=build /opt/venv /opt/venv" in copies
    assert not any(re.match(r"(--\S+ )*\. ", copy) for copy in copies), copies


def test_the_final_user_is_numeric_and_not_root():
    [user] = values(final_stage(), "USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and (not gid or int(gid) > 0)
    # Nothing after USER switches back to root.
    names = [i["instruction"] for i in final_stage()]
    assert "RUN" not in names[names.index("USER"):]


def test_entry_points_are_exec_form_through_tini():
    stage = final_stage()
    [entrypoint], [cmd] = values(stage, "ENTRYPOINT"), values(stage, "CMD")
    assert json.loads(entrypoint) == ["/usr/bin/tini", "--"]
    command = json.loads(cmd)
    assert isinstance(command, list) and command[0] == "gunicorn"
    assert "tini" in " ".join(values(stage, "RUN"))


def test_no_dev_or_test_dependencies_are_installed():
    text = " ".join(i["value"] for i in instructions() if i["instruction"] == "RUN")
    assert "pip install" in text
    assert not re.search(r"\[(dev|test)\]|--editable|pip install -e|pytest|ruff|honcho", text)
    setup = ConfigParser()
    setup.read(ROOT / "setup.cfg")
    runtime = setup["options"]["install_requires"]
    for tool in ("gunicorn", "dramatiq", "flask"):  # the Procfile's and the Job's commands
        assert re.search(rf"^{tool}\b", runtime, re.MULTILINE), tool


def test_the_port_and_the_manifests_image_agree():
    assert "8000 9191" in values(final_stage(), "EXPOSE")
    web = pod_spec(of_kind(base(), "Deployment")["web"])["containers"][0]
    assert web["image"] == "patient-notifier"
    assert web["ports"][0]["containerPort"] == 8000


def test_the_build_context_is_an_allow_list():
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set()
    for stage in stages():
        for copy in values(stage, "COPY"):
            if not copy.startswith("--from"):
                copied.update(copy.split()[:-1])
    assert copied <= allowed, copied - allowed
    assert not {"tests", ".venv", ".git", "bench", "instance"} & allowed


def test_the_installed_package_carries_its_data_files():
    """The image installs the wheel, not the source tree: every directory inside a package
    that holds data (templates, assets, migrations) must be grafted by MANIFEST.in."""
    grafted = {line.split()[1] for line in (ROOT / "MANIFEST.in").read_text().splitlines()
               if line.startswith("graft ")}
    for package in PACKAGES:
        for directory in (ROOT / package).rglob("*"):
            if not directory.is_dir() or directory.name == "__pycache__":
                continue
            if (directory / "__init__.py").exists():
                continue
            relative = directory.relative_to(ROOT).as_posix()
            assert any(relative == g or relative.startswith(g + "/") for g in grafted), relative
