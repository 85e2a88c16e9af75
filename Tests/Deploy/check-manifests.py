#!/usr/bin/env python3
"""Validate deploy/*.yaml without a cluster: every file parses as YAML (python3-yaml), the
Job and the DaemonSet carry the fields they need (restart policy, selector matching the
pod labels, host network, capabilities, the ConfigMap mounted at /config with a `targets`
key), and their conndiag arguments are accepted by the built binary: run against a targets
file holding one refused loopback target, they exit 1 and print NDJSON ending in a summary.

usage: check-manifests.py [CONNDIAG_BINARY]   (default .build/debug/conndiag)
"""
import glob, json, os, subprocess, sys, tempfile
import yaml

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/debug/conndiag")
failures = []

def check(ok, what):
    if not ok:
        failures.append(what)

docs = {}
for path in sorted(glob.glob(os.path.join(root, "deploy", "*.yaml"))):
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if doc is None:
                continue
            check({"apiVersion", "kind", "metadata"} <= doc.keys(), f"{path}: apiVersion/kind/metadata")
            docs[doc["kind"]] = doc

for kind in ("Namespace", "ConfigMap", "Job", "DaemonSet"):
    check(kind in docs, f"deploy/ has no {kind}")
if failures:
    sys.exit("check-manifests: " + "; ".join(failures))

config = docs["ConfigMap"]
check("targets" in config.get("data", {}), "ConfigMap has no data.targets")
namespace = docs["Namespace"]["metadata"]["name"]

def pod_checks(kind, workload, restart_policies):
    spec = workload["spec"]
    template = spec["template"]
    pod = template["spec"]
    labels = template["metadata"].get("labels", {})
    check(workload["metadata"].get("namespace") == namespace, f"{kind}: not in namespace {namespace}")
    check(pod.get("restartPolicy", "Always") in restart_policies, f"{kind}: restartPolicy {pod.get('restartPolicy')}")
    check(pod.get("hostNetwork") is True, f"{kind}: hostNetwork")
    check(pod.get("dnsPolicy") == "ClusterFirstWithHostNet", f"{kind}: dnsPolicy with hostNetwork")
    containers = pod.get("containers", [])
    check(len(containers) == 1, f"{kind}: one container")
    c = containers[0]
    check(c.get("image", "").startswith("localhost/conndiag:"), f"{kind}: image")
    args = c.get("args", [])
    check(args[:7] == ["probe", "--targets", "/config/targets", "--format", "ndjson", "--expect", "ok"],
          f"{kind}: args {args}")
    caps = c.get("securityContext", {}).get("capabilities", {})
    check(caps.get("drop") == ["ALL"], f"{kind}: capabilities not dropped")
    check({"NET_RAW", "NET_ADMIN"} <= set(caps.get("add", [])), f"{kind}: NET_RAW/NET_ADMIN")
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mount = next((m for m in mounts.values() if m["mountPath"] == "/config"), None)
    check(mount is not None, f"{kind}: nothing mounted at /config")
    if mount:
        vol = volumes.get(mount["name"], {})
        check(vol.get("configMap", {}).get("name") == config["metadata"]["name"], f"{kind}: /config is not the ConfigMap")
    return spec, labels, args

job_spec, job_labels, job_args = pod_checks("Job", docs["Job"], {"Never", "OnFailure"})
check(docs["Job"]["apiVersion"] == "batch/v1", "Job: apiVersion batch/v1")
check(job_spec.get("backoffLimit") == 0, "Job: backoffLimit 0 (a failed probe fails the Job)")
check(job_spec.get("completionMode") == "Indexed" and job_spec.get("completions") == job_spec.get("parallelism"),
      "Job: Indexed, completions == parallelism (one pod per node)")
anti = (docs["Job"]["spec"]["template"]["spec"].get("affinity", {}).get("podAntiAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", []))
check(any(t.get("topologyKey") == "kubernetes.io/hostname"
          and t.get("labelSelector", {}).get("matchLabels", {}).items() <= job_labels.items() for t in anti),
      "Job: required anti-affinity on kubernetes.io/hostname for its own pods")

ds_spec, ds_labels, ds_args = pod_checks("DaemonSet", docs["DaemonSet"], {"Always"})
check(docs["DaemonSet"]["apiVersion"] == "apps/v1", "DaemonSet: apiVersion apps/v1")
check(ds_spec["selector"]["matchLabels"].items() <= ds_labels.items(), "DaemonSet: selector does not match the pod labels")

# The arguments, run by the real binary against a refused loopback target.
if os.access(binary, os.X_OK):
    with tempfile.TemporaryDirectory() as d:
        targets = os.path.join(d, "targets")
        with open(targets, "w") as f:
            f.write("# refused: nothing listens on port 1\n127.0.0.1:1\n")
        for kind, args in (("Job", job_args), ("DaemonSet", ds_args)):
            run = [binary] + [targets if a == "/config/targets" else a for a in args]
            r = subprocess.run(run, capture_output=True, text=True, timeout=30)
            check(r.returncode == 1, f"{kind}: {' '.join(args)} exited {r.returncode} for a refused target: {r.stderr}")
            lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            check(lines and lines[-1].get("type") == "summary", f"{kind}: NDJSON does not end in a summary: {r.stdout}")
            check(any(l.get("type") == "target" for l in lines), f"{kind}: no target line: {r.stdout}")
else:
    failures.append(f"{binary} is not built")

if failures:
    sys.exit("check-manifests: " + "\n  ".join(failures))
print(f"check-manifests: ok ({', '.join(sorted(docs))}; Job and DaemonSet arguments run by {os.path.relpath(binary, root)})")
