#!/usr/bin/env python3
"""Checks deploy/ as far as a machine without a container engine or a
Kubernetes cluster can. Run by deploy/check.sh (and scripts/test.sh):

  image      the Dockerfile's runtime stage installs every Debian package
             that owns a shared library the built binaries load (ldd, then
             dpkg -S), directly or as a dependency, and no package that none
             of them loads (except the data packages allowed below); the
             build stage installs only packages scripts/install-deps.sh also
             installs; every binary the build makes is copied.
  compose    docker-compose.yml parses and is consistent: images, commands,
             volumes and profiles as the services need them.
  kubernetes every manifest parses and has what the API server requires
             (apiVersion, kind, metadata.name, selectors matching templates,
             containers with images, probes and volumes that resolve).
  metrics    every omnihub_* metric the alert rules and the Grafana
             dashboard name is one the code exports, and the dashboard's
             queries parse (promtool).
  flags      every OMNIHUB_* variable and --flag the Dockerfile, compose
             file and manifests set is a flag of the binaries (or, until the
             security work merges, in PENDING_FLAGS).

Usage: deploy/check.py BUILD_DIR [--dockerfile PATH] [--only-image]
(BUILD_DIR: a build with the five binaries, e.g. build/test)
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPLOY = os.path.join(ROOT, "deploy")
BINARIES = {
    "omnihub-timeline": "services/timeline",
    "omnihub-cli": "services/cli",
    "omnihub-phone-adapter": "services/phone_adapter",
    "omnihub-web-adapter": "services/web_adapter",
    "omnihub-visit-adapter": "services/visit_adapter",
}
# Installed in the runtime stage without a binary linking them: data.
DATA_PACKAGES = {"tzdata": "time zones for --cdr_time_zone, --visit_time_zone"}

# Flags the files here may use before the binaries have them (work landing
# in parallel); empty when none: check_flags then holds every OMNIHUB_*
# variable and --flag to a real flag.
PENDING_FLAGS = set()

failures = []


def fail(what, message):
    failures.append(f"{what}: {message}")


# ---------------------------------------------------------------- image --


def dockerfile_stages(text):
    """The Dockerfile's stages as {name: [instruction, ...]}, continuation
    lines joined and comments dropped."""
    stages, current = {}, None
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        match = re.match(r"FROM\s+\S+(?:\s+AS\s+(\S+))?", logical, re.I)
        if match:
            current = match.group(1) or f"stage{len(stages)}"
            stages[current] = []
        elif current is not None:
            stages[current].append(logical)
        logical = ""
    return stages


def apt_installed(instructions):
    """Packages named by `apt-get install` in RUN instructions."""
    packages = []
    for instruction in instructions:
        for command in re.split(r"&&|;", instruction):
            words = command.split()
            if "apt-get" in words and "install" in words:
                after = words[words.index("install") + 1:]
                packages += [w for w in after if not w.startswith("-")]
    return packages


def lib_variants(path):
    """`path`, its resolved target, and both under /lib and /usr/lib (one
    directory on Debian 12, which dpkg knows by one name only)."""
    variants = []
    for candidate in (path, os.path.realpath(path)):
        variants.append(candidate)
        for a, b in (("/usr/lib/", "/lib/"), ("/lib/", "/usr/lib/")):
            if candidate.startswith(a):
                variants.append(b + candidate[len(a):])
    return variants


def dpkg_owners(paths):
    """{path: owning package} for those of `paths` a package owns; one dpkg
    call (each call reads every package's file list)."""
    result = subprocess.run(["dpkg", "-S"] + sorted(set(paths)),
                            capture_output=True, text=True)
    owners = {}
    for line in result.stdout.splitlines():
        packages, path = line.split(": ", 1)
        owners[path.strip()] = packages.split(",")[0].split(":")[0].strip()
    return owners


def installed_packages():
    """{package: {field: value}} of the installed packages, from dpkg's
    status file (dpkg-query per package is slow)."""
    packages = {}
    text = open("/var/lib/dpkg/status").read()
    for stanza in text.split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", stanza, re.M))
        if fields.get("Status", "").endswith(" installed"):
            packages[fields["Package"]] = fields
    return packages


INSTALLED = None


def dependency_closure(packages):
    """The packages and everything they (pre-)depend on, as installed on
    this machine (Debian 12, like the image)."""
    global INSTALLED
    if INSTALLED is None:
        INSTALLED = installed_packages()
    seen, todo = set(), list(packages)
    while todo:
        package = todo.pop().split(":")[0]
        if package in seen:
            continue
        seen.add(package)
        fields = INSTALLED.get(package, {})
        depends = fields.get("Pre-Depends", "") + "," + \
            fields.get("Depends", "")
        for clause in depends.split(","):
            # "a (>= 1) | b": the first alternative installed on this machine.
            for alternative in clause.split("|"):
                name = alternative.strip().split(" ")[0].split(":")[0]
                if name in INSTALLED:
                    todo.append(name)
                    break
    return seen


def base_image_packages():
    """What debian:12-slim already has: the Essential and required packages
    and their dependencies."""
    dependency_closure([])
    return dependency_closure(
        [name for name, fields in INSTALLED.items()
         if fields.get("Essential") == "yes" or
         fields.get("Priority") == "required"])


def install_deps_packages():
    text = open(os.path.join(ROOT, "scripts/install-deps.sh")).read()
    block = re.search(r"packages=\((.*?)\n\)", text, re.S).group(1)
    words = []
    for line in block.splitlines():
        words += line.split("#")[0].split()
    return set(words)


def check_image(build_dir, dockerfile):
    what = os.path.relpath(dockerfile, ROOT)
    stages = dockerfile_stages(open(dockerfile).read())
    if "build" not in stages or "runtime" not in stages:
        fail(what, "needs stages named build and runtime")
        return
    runtime = stages["runtime"]
    listed = apt_installed(runtime)
    for package in listed:
        if package.endswith("-dev"):
            fail(what, f"runtime stage installs the build package {package}")
    # Every binary is built and copied.
    copied = " ".join(i for i in runtime if i.upper().startswith("COPY"))
    build_text = " ".join(stages["build"])
    for binary in BINARIES:
        if f"/{binary}" not in copied:
            fail(what, f"runtime stage does not copy {binary}")
        builds_all = "cmake --build" in build_text and \
            "--target" not in build_text
        if binary not in build_text and not builds_all:
            fail(what, f"build stage does not build {binary}")
    if not any(re.match(r"USER\s+(?!0\b|root\b)", i) for i in runtime):
        fail(what, "runtime stage does not switch to a non-root USER")
    if not any(i.upper().startswith("HEALTHCHECK") for i in runtime):
        fail(what, "runtime stage has no HEALTHCHECK")
    # The build stage installs what a developer machine does.
    missing = set(apt_installed(stages["build"])) - install_deps_packages()
    if missing:
        fail(what, "build stage installs packages scripts/install-deps.sh "
             f"does not: {sorted(missing)}")

    # What the binaries load, and which packages own it.
    direct, loaded = set(), set()
    libraries = []  # (binary, soname, path, directly linked)
    for binary, folder in BINARIES.items():
        path = os.path.join(build_dir, folder, binary)
        if not os.path.exists(path):
            fail(what, f"{path} not built: cannot compare with ldd")
            continue
        needed = set(re.findall(
            r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
            subprocess.run(["readelf", "-d", path], capture_output=True,
                           text=True, check=True).stdout))
        for line in subprocess.run(["ldd", path], capture_output=True,
                                   text=True, check=True).stdout.splitlines():
            match = re.match(r"\s*(\S+) => (/\S+)", line)
            if match:
                libraries.append((binary, match.group(2),
                                  match.group(1) in needed))
    owners = dpkg_owners(v for _, library, _ in libraries
                         for v in lib_variants(library))
    for binary, library, is_direct in libraries:
        owner = next((owners[v] for v in lib_variants(library)
                      if v in owners), None)
        if owner is None:
            fail(what, f"{binary} loads {library}, which no Debian package "
                 "owns")
            continue
        loaded.add(owner)
        if is_direct:
            direct.add(owner)
    base = base_image_packages()
    available = dependency_closure(set(listed)) | base
    for package in sorted(direct - set(listed) - base):
        fail(what, f"runtime stage must install {package} (its library is "
             "linked directly by a binary)")
    for package in sorted(loaded - available):
        fail(what, f"runtime stage lacks {package} (a binary loads its "
             "library)")
    for package in sorted(set(listed) - direct - set(DATA_PACKAGES)):
        fail(what, f"runtime stage installs {package}, which no binary links "
             "directly (a dependency comes with the package needing it)")
    print(f"  image: {len(listed)} runtime packages, {len(loaded)} packages "
          f"loaded by {len(BINARIES)} binaries, "
          f"{len(loaded & base)} of them in debian:12-slim already")


# -------------------------------------------------------------- compose --


def check_compose():
    what = "deploy/docker-compose.yml"
    compose = yaml.safe_load(open(os.path.join(DEPLOY, "docker-compose.yml")))
    services = compose.get("services", {})
    volumes = set((compose.get("volumes") or {}).keys())
    for name, service in services.items():
        if "image" not in service and "build" not in service:
            fail(what, f"service {name} has neither image nor build")
        if "build" in service:
            build = service["build"]
            dockerfile = os.path.join(DEPLOY, build["context"],
                                      build["dockerfile"])
            if not os.path.exists(os.path.normpath(dockerfile)):
                fail(what, f"service {name}: no {dockerfile}")
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                if not os.path.exists(os.path.join(DEPLOY, source)):
                    fail(what, f"service {name} mounts missing {source}")
            elif source not in volumes:
                fail(what, f"service {name} mounts undeclared volume {source}")
        depends = service.get("depends_on", {})
        for other in depends:
            if other not in services:
                fail(what, f"service {name} depends on unknown {other}")
    # Every scrape target is a service listening there.
    listening = set()
    for name, service in services.items():
        environment = service.get("environment", {})
        for flag in ("OMNIHUB_METRICS_LISTEN", "OMNIHUB_ADMIN_LISTEN"):
            if flag in environment:
                listening.add(f"{name}:{environment[flag].split(':')[-1]}")
    prometheus = yaml.safe_load(
        open(os.path.join(DEPLOY, "prometheus/prometheus.yml")))
    for job in prometheus["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                if target not in listening:
                    fail("deploy/prometheus/prometheus.yml",
                         f"job {job['job_name']} scrapes {target}, where no "
                         "compose service serves metrics")
    for adapter in ("phone-adapter", "web-adapter", "visit-adapter"):
        service = services.get(adapter)
        if service is None:
            fail(what, f"no {adapter} service")
            continue
        if service.get("command") != [f"omnihub-{adapter}"]:
            fail(what, f"{adapter} does not run omnihub-{adapter}")
        environment = service.get("environment", {})
        spool_dir = environment.get("OMNIHUB_SPOOL_DIR")
        if not spool_dir or not any(
                m.split(":")[1] == spool_dir for m in service.get("volumes",
                                                                  [])):
            fail(what, f"{adapter} keeps its spool outside a volume")
        admin_port = environment.get("OMNIHUB_ADMIN_LISTEN", ":").split(":")[-1]
        if f"/dev/tcp/127.0.0.1/{admin_port} " not in \
                " ".join(service.get("healthcheck", {}).get("test", [])):
            fail(what, f"{adapter}'s healthcheck does not ask its admin port")
    profiles = {p for s in services.values() for p in s.get("profiles", [])}
    if "cluster" not in profiles:
        fail(what, "no cluster profile")
    print(f"  compose: {len(services)} services, profiles {sorted(profiles)}")


# ----------------------------------------------------------- kubernetes --


def secret_keys(secret):
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


def check_files(cname, container, volumes, config_maps, secrets):
    """Every /etc/omnihub/... file a flag names (in the container's
    ConfigMaps, env or probe commands) is a key of a Secret mounted there."""
    texts = [e.get("value", "") for e in container.get("env", [])]
    for source in container.get("envFrom", []):
        name = source.get("configMapRef", {}).get("name")
        if name in config_maps:
            texts += list(config_maps[name].get("data", {}).values())
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        texts += container.get(probe, {}).get("exec", {}).get("command", [])
    for env in container.get("env", []):
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref and (ref["name"] not in secrets or
                    ref["key"] not in secret_keys(secrets[ref["name"]])):
            fail(cname, f"env {env['name']}: no key {ref['key']} in Secret "
                 f"{ref['name']}")
    for path in re.findall(r"(/etc/omnihub/[\w./-]+)", " ".join(texts)):
        mount = next((m for m in container.get("volumeMounts", [])
                      if path.startswith(m["mountPath"].rstrip("/") + "/")),
                     None)
        if mount is None:
            fail(cname, f"{path} is in no mounted volume")
            continue
        volume = volumes.get(mount["name"], {})
        secret = volume.get("secret")
        if secret is None:
            continue
        key = path[len(mount["mountPath"].rstrip("/")) + 1:]
        items = secret.get("items")
        if items is not None:
            mapped = {i["path"]: i["key"] for i in items}
            if key not in mapped:
                fail(cname, f"{path}: Secret volume {mount['name']} does not "
                     "project it")
                continue
            key = mapped[key]
        if secret["secretName"] in secrets and \
                key not in secret_keys(secrets[secret["secretName"]]):
            fail(cname, f"{path}: Secret {secret['secretName']} has no key "
                 f"{key}")


def check_pod_spec(what, spec, config_maps, secrets, claim_templates):
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for volume in volumes.values():
        if "secret" in volume and \
                volume["secret"]["secretName"] not in secrets:
            fail(what, f"volume {volume['name']}: no Secret "
                 f"{volume['secret']['secretName']}")
        if "configMap" in volume and \
                volume["configMap"]["name"] not in config_maps:
            fail(what, f"volume {volume['name']}: no ConfigMap "
                 f"{volume['configMap']['name']}")
    if not spec.get("containers"):
        fail(what, "no containers")
    security = spec.get("securityContext", {})
    for container in spec.get("containers", []):
        cname = f"{what} container {container.get('name')}"
        for field in ("name", "image"):
            if field not in container:
                fail(cname, f"no {field}")
        context = {**security, **container.get("securityContext", {})}
        if not context.get("runAsNonRoot"):
            fail(cname, "does not set runAsNonRoot")
        if "requests" not in container.get("resources", {}):
            fail(cname, "no resource requests")
        ports = {p.get("name"): p["containerPort"]
                 for p in container.get("ports", [])}
        for probe_name in ("readinessProbe", "livenessProbe"):
            probe = container.get(probe_name)
            if probe is None:
                fail(cname, f"no {probe_name}")
                continue
            for kind in ("grpc", "httpGet", "tcpSocket"):
                if kind in probe:
                    port = probe[kind]["port"]
                    if isinstance(port, str) and port not in ports:
                        fail(cname, f"{probe_name} port {port} not declared")
                    if isinstance(port, int) and port not in ports.values():
                        fail(cname, f"{probe_name} port {port} not declared")
        check_files(cname, container, volumes, config_maps, secrets)
        for mount in container.get("volumeMounts", []):
            if mount["name"] not in volumes and \
                    mount["name"] not in claim_templates:
                fail(cname, f"mounts unknown volume {mount['name']}")
        for source in container.get("envFrom", []):
            if "configMapRef" in source and \
                    source["configMapRef"]["name"] not in config_maps:
                fail(cname, f"envFrom unknown ConfigMap "
                     f"{source['configMapRef']['name']}")
            if "secretRef" in source and \
                    source["secretRef"]["name"] not in secrets:
                fail(cname, f"envFrom unknown Secret "
                     f"{source['secretRef']['name']}")


def check_kubernetes():
    documents = []
    for path in sorted(glob.glob(os.path.join(DEPLOY, "kubernetes/**/*.yaml"),
                                 recursive=True)):
        if os.path.basename(path) == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(open(path)):
            if document:
                documents.append((os.path.relpath(path, ROOT), document))
    if not documents:
        fail("deploy/kubernetes", "no manifests")
        return
    by_kind = {}
    for path, document in documents:
        for field in ("apiVersion", "kind", "metadata"):
            if field not in document:
                fail(path, f"a document without {field}")
        name = document.get("metadata", {}).get("name")
        if not name or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?",
                                        name):
            fail(path, f"{document.get('kind')}: bad metadata.name {name!r}")
        by_kind.setdefault(document["kind"], {})[name] = (path, document)
    kustomization = yaml.safe_load(
        open(os.path.join(DEPLOY, "kubernetes/kustomization.yaml")))
    top_level = {os.path.basename(p) for p in glob.glob(
        os.path.join(DEPLOY, "kubernetes/*.yaml"))} - {"kustomization.yaml"}
    if set(kustomization["resources"]) != top_level:
        fail("deploy/kubernetes/kustomization.yaml",
             f"resources {sorted(kustomization['resources'])} are not the "
             f"manifests {sorted(top_level)}")
    config_maps = {n: d for n, (_, d) in by_kind.get("ConfigMap", {}).items()}
    secrets = {n: d for n, (_, d) in by_kind.get("Secret", {}).items()}
    workloads = {**by_kind.get("Deployment", {}),
                 **by_kind.get("StatefulSet", {})}
    pod_labels = []
    for name, (path, document) in workloads.items():
        what = f"{path} {document['kind']} {name}"
        spec = document["spec"]
        selector = spec.get("selector", {}).get("matchLabels", {})
        labels = spec["template"]["metadata"].get("labels", {})
        if not selector or any(labels.get(k) != v
                               for k, v in selector.items()):
            fail(what, "selector does not match the template's labels")
        pod_labels.append(labels)
        claims = {t["metadata"]["name"]
                  for t in spec.get("volumeClaimTemplates", [])}
        if document["kind"] == "StatefulSet":
            if not claims:
                fail(what, "no volumeClaimTemplates (spool on ephemeral disk)")
            if spec.get("serviceName") not in by_kind.get("Service", {}):
                fail(what, f"serviceName {spec.get('serviceName')} is no "
                     "Service")
        check_pod_spec(what, spec["template"]["spec"], config_maps, secrets,
                       claims)
    for kind in ("Service", "PodDisruptionBudget"):
        for name, (path, document) in by_kind.get(kind, {}).items():
            selector = document["spec"].get("selector", {})
            selector = selector.get("matchLabels", selector)
            if not any(all(labels.get(k) == v for k, v in selector.items())
                       for labels in pod_labels):
                fail(f"{path} {kind} {name}", "selects no pod")
    for kind in ("Deployment", "StatefulSet", "Service", "ConfigMap",
                 "Secret", "PodDisruptionBudget"):
        if kind not in by_kind:
            fail("deploy/kubernetes", f"no {kind}")
    print("  kubernetes: " + ", ".join(
        f"{len(v)} {k}" for k, v in sorted(by_kind.items())))


# -------------------------------------------------------------- metrics --


def exported_metrics():
    names = set()
    for path in glob.glob(os.path.join(ROOT, "**/*.cc"), recursive=True):
        relative = os.path.relpath(path, ROOT)
        if relative.startswith(("build", "tests/")) or \
                relative.endswith("_test.cc"):
            continue
        names |= set(re.findall(r'"(omnihub_[a-z0-9_]+)"', open(path).read()))
    return names


def check_metrics():
    exported = exported_metrics()
    # Histograms' series carry a suffix the code does not spell out.
    def known(name):
        return any(name == m or name == m + suffix for m in exported
                   for suffix in ("_bucket", "_count", "_sum"))
    sources = glob.glob(os.path.join(DEPLOY, "prometheus/rules/*.yml")) + \
        glob.glob(os.path.join(DEPLOY, "grafana/dashboards/*.json"))
    used = 0
    for path in sources:
        for name in sorted(set(re.findall(r"\b(omnihub_[a-z0-9_]+)",
                                          open(path).read()))):
            used += 1
            if not known(name):
                fail(os.path.relpath(path, ROOT),
                     f"names {name}, which no service exports")
    # Kubernetes scrapes the same jobs as docker-compose, as the rules
    # expect.
    jobs = [{j["job_name"] for j in yaml.safe_load(open(os.path.join(
        DEPLOY, "prometheus", name)))["scrape_configs"]}
        for name in ("prometheus.yml", "prometheus-kubernetes.yml")]
    if jobs[0] != jobs[1]:
        fail("deploy/prometheus/prometheus-kubernetes.yml",
             f"jobs {sorted(jobs[1])}, not those of prometheus.yml "
             f"{sorted(jobs[0])}")
    # The dashboards' queries parse: promtool checks them as recording rules
    # (Grafana's $__rate_interval as 5m).
    rules = []
    for path in glob.glob(os.path.join(DEPLOY, "grafana/dashboards/*.json")):
        for panel in json.load(open(path))["panels"]:
            for target in panel.get("targets", []):
                rules.append({"record": f"dashboard:panel{panel['id']}",
                              "expr": target["expr"].replace(
                                  "$__rate_interval", "5m")})
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as file:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]},
                       file)
        file.flush()
        result = subprocess.run(["promtool", "check", "rules", file.name],
                                capture_output=True, text=True)
        if result.returncode != 0:
            fail("deploy/grafana/dashboards", "a query does not parse:\n" +
                 result.stdout + result.stderr)
    print(f"  metrics: {used} names used, all exported; {len(rules)} "
          "dashboard queries parse")


def defined_flags():
    names = set()
    for path in glob.glob(os.path.join(ROOT, "**/*.cc"), recursive=True):
        relative = os.path.relpath(path, ROOT)
        if relative.startswith(("build", "tests/")):
            continue
        names |= set(re.findall(r"ABSL_FLAG\(\s*[\w:<>]+\s*,\s*(\w+)",
                                open(path).read()))
    return names


def check_flags():
    """Every OMNIHUB_* variable and --flag the deployment files set is a flag
    of the binaries (or one of PENDING_FLAGS)."""
    flags = defined_flags()
    files = [os.path.join(DEPLOY, "Dockerfile"),
             os.path.join(DEPLOY, "docker-compose.yml")] + \
        glob.glob(os.path.join(DEPLOY, "kubernetes/*.yaml"))
    used = set()
    for path in files:
        text = "\n".join(line for line in open(path).read().splitlines()
                         if not line.lstrip().startswith("#"))
        names = {n.lower() for n in re.findall(r"\bOMNIHUB_([A-Z0-9_]+)",
                                                text)}
        # In the Dockerfile only the commands' (quoted) arguments, not the
        # instructions' own options (COPY --from=, HEALTHCHECK --interval=).
        flag = r'"--([a-z][a-z0-9_]+)=' if path.endswith("Dockerfile") \
            else r"(?<![\w-])--([a-z][a-z0-9_]+)="
        names |= set(re.findall(flag, text))
        for name in sorted(names - flags - PENDING_FLAGS):
            fail(os.path.relpath(path, ROOT), f"sets {name}, which is no "
                 "flag of omnihub's binaries")
        used |= names
    landed = sorted(PENDING_FLAGS & flags)
    if landed:
        print(f"  flags: now defined, remove from PENDING_FLAGS: {landed}")
    print(f"  flags: {len(used)} used, {len(used & PENDING_FLAGS)} of them "
          "not defined yet (PENDING_FLAGS)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build_dir")
    parser.add_argument("--dockerfile",
                        default=os.path.join(DEPLOY, "Dockerfile"),
                        help="check this Dockerfile instead (deploy/check.sh "
                        "checks that a broken one fails)")
    parser.add_argument("--only-image", action="store_true")
    arguments = parser.parse_args()
    check_image(arguments.build_dir, arguments.dockerfile)
    if not arguments.only_image:
        check_compose()
        check_kubernetes()
        check_metrics()
        check_flags()
    for failure in failures:
        print("FAIL " + failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
