"""deploy/: the Dockerfile and the Kubernetes manifests, checked offline.

No cluster and no container engine are needed:
- `kubectl kustomize` renders deploy/base and deploy/overlays/example; the
  rendered YAML is turned into JSON by `kubectl label --local -o json` (which
  never contacts a server) so that no YAML library is needed;
- every object is checked as a Kubernetes object: apiVersion/kind known,
  metadata.name a DNS name, no unknown field in the parts of the API these
  manifests use (a typo such as `readinesProbe` fails), ports and quantities
  well formed;
- the wiring is checked: doorman is a native sidecar (init container with
  restartPolicy Always) with readiness /readyz and liveness /healthz on the
  admin port, resources and a locked-down securityContext; selectors of the
  Service, PodDisruptionBudget and NetworkPolicy match the pods; the Service
  and NetworkPolicy never expose the app's own port; every volume, ConfigMap,
  Secret and secret key referenced exists in the overlay; the overlay sets its
  namespace, replicas, a pinned image and larger resources;
- the ConfigMap's doorman.yaml passes `doorman check-config`, laid out as the
  pod sees it (config file, Secret files, env from the Secret). PostgreSQL and
  the redis strategy are not supported yet by this build: while they are not,
  check-config may fail with "not supported yet" errors and nothing else
  (every other error still fails the test). Once they land, exit 0 is what
  this test sees and the tolerance is simply unused;
- the Dockerfile is checked statically: multi-stage on Debian 12, the final
  stage runs as a non-root uid with no compiler or -dev package, and every
  shared library the built doorman binary needs (readelf + ldd + dpkg -S)
  comes from a package the final stage installs, so the list cannot drift.

Environment: DOORMAN_BIN (the built binary).
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
BASE = os.path.join(DEPLOY, "base")
OVERLAY = os.path.join(DEPLOY, "overlays", "example")
DOCKERFILE = os.path.join(DEPLOY, "Dockerfile")

DOORMAN_UID = 65532
HTTP_PORT = 8000
ADMIN_PORT = 9901
APP_PORT = 8080

# --------------------------------------------------------------------------
# rendering


def kubectl_env():
    env = dict(os.environ)
    # Never pick up a real cluster's config: everything here is offline.
    env["KUBECONFIG"] = os.path.join(tempfile.gettempdir(), "doorman-test-deploy-no-kubeconfig")
    return env


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def render(directory):
    """kubectl kustomize DIR, as a list of JSON objects."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        raise AssertionError("kubectl is not installed (the Makefile's install-deps installs it)")
    out = run([kubectl, "kustomize", directory], env=kubectl_env())
    if out.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed:\n{out.stderr}")
    # `label --local` only rewrites the objects it is given; removing a label
    # nobody has changes nothing but the output format.
    conv = run([kubectl, "label", "--local", "-f", "-", "-o", "json", "doorman-test-none-"],
               input=out.stdout, env=kubectl_env())
    if conv.returncode != 0:
        raise AssertionError(f"converting the rendered YAML to JSON failed:\n{conv.stderr}")
    objects, text, pos = [], conv.stdout, 0
    decoder = json.JSONDecoder()
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        obj, pos = decoder.raw_decode(text, pos)
        if obj.get("kind") == "List":
            objects.extend(obj.get("items", []))
        else:
            objects.append(obj)
    for obj in objects:  # drop what the conversion added
        labels = obj.get("metadata", {}).get("labels")
        if labels == {}:
            del obj["metadata"]["labels"]
    return objects


# --------------------------------------------------------------------------
# a small schema of the parts of the Kubernetes API these manifests use

KINDS = {
    "Namespace": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "PodDisruptionBudget": "policy/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
}
NAMESPACED = set(KINDS) - {"Namespace"}

# schema name -> {field: child schema name or None (leaf, not checked further)}
SCHEMA = {
    "meta": dict.fromkeys(["name", "namespace", "labels", "annotations", "generateName",
                           "finalizers", "ownerReferences"]),
    "deploymentSpec": {"replicas": None, "selector": "labelSelector", "template": "podTemplate",
                       "strategy": "strategy", "minReadySeconds": None, "paused": None,
                       "progressDeadlineSeconds": None, "revisionHistoryLimit": None},
    "strategy": {"type": None, "rollingUpdate": "rollingUpdate"},
    "rollingUpdate": {"maxUnavailable": None, "maxSurge": None},
    "labelSelector": {"matchLabels": None, "matchExpressions": None},
    "podTemplate": {"metadata": "meta", "spec": "podSpec"},
    "podSpec": {
        "containers": "container", "initContainers": "container", "volumes": "volume",
        "securityContext": "podSecurityContext", "topologySpreadConstraints": "topologySpread",
        **dict.fromkeys([
            "activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "dnsConfig",
            "dnsPolicy", "enableServiceLinks", "ephemeralContainers", "hostAliases", "hostIPC",
            "hostNetwork", "hostPID", "hostUsers", "hostname", "imagePullSecrets", "nodeName",
            "nodeSelector", "os", "overhead", "preemptionPolicy", "priority", "priorityClassName",
            "readinessGates", "resourceClaims", "resources", "restartPolicy", "runtimeClassName",
            "schedulerName", "schedulingGates", "serviceAccount", "serviceAccountName",
            "setHostnameAsFQDN", "shareProcessNamespace", "subdomain",
            "terminationGracePeriodSeconds", "tolerations"]),
    },
    "topologySpread": {"maxSkew": None, "topologyKey": None, "whenUnsatisfiable": None,
                       "labelSelector": "labelSelector", "minDomains": None,
                       "matchLabelKeys": None, "nodeAffinityPolicy": None, "nodeTaintsPolicy": None},
    "container": {
        "ports": "containerPort", "env": "envVar", "resources": "resources",
        "securityContext": "securityContext", "volumeMounts": "volumeMount",
        "livenessProbe": "probe", "readinessProbe": "probe", "startupProbe": "probe",
        **dict.fromkeys([
            "name", "image", "imagePullPolicy", "command", "args", "workingDir", "envFrom",
            "lifecycle", "resizePolicy", "restartPolicy", "stdin", "stdinOnce",
            "terminationMessagePath", "terminationMessagePolicy", "tty", "volumeDevices"]),
    },
    "containerPort": dict.fromkeys(["name", "containerPort", "protocol", "hostIP", "hostPort"]),
    "envVar": {"name": None, "value": None, "valueFrom": "envVarSource"},
    "envVarSource": {"secretKeyRef": "keyRef", "configMapKeyRef": "keyRef",
                     "fieldRef": None, "resourceFieldRef": None},
    "keyRef": dict.fromkeys(["name", "key", "optional"]),
    "resources": dict.fromkeys(["requests", "limits", "claims"]),
    "securityContext": {
        "capabilities": "capabilities",
        **dict.fromkeys([
            "allowPrivilegeEscalation", "appArmorProfile", "privileged", "procMount",
            "readOnlyRootFilesystem", "runAsGroup", "runAsNonRoot", "runAsUser",
            "seLinuxOptions", "seccompProfile", "windowsOptions"]),
    },
    "capabilities": dict.fromkeys(["add", "drop"]),
    "podSecurityContext": dict.fromkeys([
        "appArmorProfile", "fsGroup", "fsGroupChangePolicy", "runAsGroup", "runAsNonRoot",
        "runAsUser", "seLinuxOptions", "seLinuxChangePolicy", "seccompProfile",
        "supplementalGroups", "supplementalGroupsPolicy", "sysctls", "windowsOptions"]),
    "probe": {"httpGet": "httpGet", **dict.fromkeys([
        "exec", "grpc", "tcpSocket", "failureThreshold", "initialDelaySeconds", "periodSeconds",
        "successThreshold", "terminationGracePeriodSeconds", "timeoutSeconds"])},
    "httpGet": dict.fromkeys(["path", "port", "host", "scheme", "httpHeaders"]),
    "volumeMount": dict.fromkeys(["name", "mountPath", "readOnly", "subPath", "subPathExpr",
                                  "mountPropagation", "recursiveReadOnly"]),
    "volume": {"configMap": "configMapVolume", "secret": "secretVolume", **dict.fromkeys([
        "name", "emptyDir", "projected", "persistentVolumeClaim", "downwardAPI"])},
    "configMapVolume": dict.fromkeys(["name", "items", "defaultMode", "optional"]),
    "secretVolume": dict.fromkeys(["secretName", "items", "defaultMode", "optional"]),
    "serviceSpec": {"ports": "servicePort", **dict.fromkeys([
        "selector", "type", "clusterIP", "clusterIPs", "externalIPs", "externalName",
        "externalTrafficPolicy", "healthCheckNodePort", "internalTrafficPolicy", "ipFamilies",
        "ipFamilyPolicy", "loadBalancerClass", "loadBalancerIP", "loadBalancerSourceRanges",
        "publishNotReadyAddresses", "sessionAffinity", "sessionAffinityConfig",
        "trafficDistribution", "allocateLoadBalancerNodePorts"])},
    "servicePort": dict.fromkeys(["name", "port", "targetPort", "protocol", "nodePort", "appProtocol"]),
    "pdbSpec": {"selector": "labelSelector", "minAvailable": None, "maxUnavailable": None,
                "unhealthyPodEvictionPolicy": None},
    "networkPolicySpec": {"podSelector": "labelSelector", "ingress": "npIngress",
                          "egress": None, "policyTypes": None},
    "npIngress": {"from": None, "ports": "npPort"},
    "npPort": dict.fromkeys(["port", "endPort", "protocol"]),
}
TOP = {
    "Deployment": {"spec": "deploymentSpec"},
    "Service": {"spec": "serviceSpec"},
    "PodDisruptionBudget": {"spec": "pdbSpec"},
    "NetworkPolicy": {"spec": "networkPolicySpec"},
    "ConfigMap": dict.fromkeys(["data", "binaryData", "immutable"]),
    "Secret": dict.fromkeys(["data", "stringData", "type", "immutable"]),
    "Namespace": {"spec": None},
}

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
PORT_NAME = re.compile(r"^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
SUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity(text):
    m = QUANTITY.match(str(text))
    if not m:
        raise AssertionError(f"not a Kubernetes quantity: {text!r}")
    return float(m.group(1)) * SUFFIX[m.group(3) or ""]


def check_fields(value, schema, where, problems):
    if schema is None:
        return
    fields = SCHEMA[schema]
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_fields(item, schema, f"{where}[{i}]", problems)
        return
    if not isinstance(value, dict):
        problems.append(f"{where}: expected an object, got {value!r}")
        return
    for key, child in value.items():
        if key not in fields:
            problems.append(f"{where}.{key}: unknown field")
        else:
            check_fields(child, fields[key], f"{where}.{key}", problems)


def check_object(test, obj):
    kind = obj.get("kind")
    where = f"{kind}/{obj.get('metadata', {}).get('name')}"
    test.assertIn(kind, KINDS, f"{where}: unexpected kind")
    test.assertEqual(obj.get("apiVersion"), KINDS[kind], f"{where}: apiVersion")
    name = obj.get("metadata", {}).get("name", "")
    pattern = DNS1123_LABEL if kind in ("Namespace", "Service") else DNS1123_SUBDOMAIN
    test.assertRegex(name, pattern, f"{where}: metadata.name")
    problems = []
    allowed = {"apiVersion": None, "kind": None, "metadata": "meta", **TOP[kind]}
    for key, child in obj.items():
        if key not in allowed:
            problems.append(f"{where}.{key}: unknown field")
        else:
            check_fields(child, allowed[key], f"{where}.{key}", problems)
    for sec in ("labels", "annotations"):
        for k, v in (obj["metadata"].get(sec) or {}).items():
            if not isinstance(v, str):
                problems.append(f"{where}.metadata.{sec}.{k}: value must be a string")
    test.assertEqual(problems, [], "\n".join(problems))


def selector_matches(selector, labels):
    match = (selector or {}).get("matchLabels") or {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def one(test, objects, kind):
    found = by_kind(objects, kind)
    test.assertEqual(len(found), 1, f"expected exactly one {kind}, got {len(found)}")
    return found[0]


def container(pod_spec, name, init):
    for c in pod_spec.get("initContainers" if init else "containers", []):
        if c["name"] == name:
            return c
    raise AssertionError(f"no {'init ' if init else ''}container {name!r}")


def port_number(c, port):
    if isinstance(port, int):
        return port
    for p in c.get("ports", []):
        if p.get("name") == port:
            return p["containerPort"]
    raise AssertionError(f"container {c['name']}: no port named {port!r}")


# --------------------------------------------------------------------------
# manifests


class ManifestChecks:
    """Checks shared by the base and the overlay; subclasses set DIR."""

    DIR = None

    @classmethod
    def setUpClass(cls):
        cls.objects = render(cls.DIR)

    def deployment(self):
        return one(self, self.objects, "Deployment")

    def pod(self):
        return self.deployment()["spec"]["template"]["spec"]

    def test_objects_are_valid(self):
        kinds = sorted(o["kind"] for o in self.objects)
        for kind in ("ConfigMap", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service"):
            self.assertIn(kind, kinds)
        for obj in self.objects:
            check_object(self, obj)
        keys = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in self.objects]
        self.assertEqual(len(keys), len(set(keys)), "duplicate objects")

    def test_pod_structure(self):
        dep = self.deployment()
        spec = dep["spec"]
        labels = spec["template"]["metadata"]["labels"]
        self.assertTrue(selector_matches(spec["selector"], labels), "Deployment selector vs template labels")
        pod = spec["template"]["spec"]
        names = [c["name"] for c in pod.get("initContainers", []) + pod["containers"]]
        self.assertEqual(len(names), len(set(names)), "container names must be unique")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod.get("initContainers", []) + pod["containers"]:
            self.assertRegex(c["name"], DNS1123_LABEL)
            self.assertTrue(c.get("image"), f"{c['name']}: image")
            for p in c.get("ports", []):
                self.assertTrue(1 <= p["containerPort"] <= 65535)
                self.assertRegex(p["name"], PORT_NAME)
            for m in c.get("volumeMounts", []):
                self.assertIn(m["name"], volumes, f"{c['name']}: mount of an undeclared volume")
                self.assertTrue(m["mountPath"].startswith("/"))
            res = c.get("resources", {})
            for key in ("cpu", "memory"):
                self.assertIn(key, res.get("requests", {}), f"{c['name']}: resources.requests.{key}")
            for section in ("requests", "limits"):
                for v in res.get(section, {}).values():
                    quantity(v)
            for key, req in res.get("requests", {}).items():
                if key in res.get("limits", {}):
                    self.assertLessEqual(quantity(req), quantity(res["limits"][key]), f"{c['name']}: {key}")
            sc = c.get("securityContext", {})
            self.assertIs(sc.get("allowPrivilegeEscalation"), False, f"{c['name']}: allowPrivilegeEscalation")
            self.assertIs(sc.get("readOnlyRootFilesystem"), True, f"{c['name']}: readOnlyRootFilesystem")
            self.assertIn("ALL", sc.get("capabilities", {}).get("drop", []), f"{c['name']}: capabilities.drop")
            self.assertTrue(sc.get("runAsNonRoot") or pod.get("securityContext", {}).get("runAsNonRoot"))
        for v in volumes.values():
            mode = v.get("secret", v.get("configMap", {})).get("defaultMode")
            if mode is not None:
                self.assertTrue(0 <= mode <= 0o777, f"volume {v['name']}: defaultMode {mode}")

    def test_doorman_is_a_native_sidecar(self):
        pod = self.pod()
        d = container(pod, "doorman", init=True)
        self.assertEqual(d.get("restartPolicy"), "Always", "doorman must be an init container with restartPolicy Always")
        ports = {p["name"]: p["containerPort"] for p in d["ports"]}
        self.assertEqual(ports.get("http"), HTTP_PORT)
        self.assertEqual(ports.get("admin"), ADMIN_PORT)
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = d.get(probe, {}).get("httpGet")
            self.assertIsNotNone(get, f"doorman {probe} must be an httpGet")
            self.assertEqual(get["path"], path, probe)
            self.assertEqual(port_number(d, get["port"]), ADMIN_PORT, f"{probe} on the admin listener")
        if "startupProbe" in d:
            # /readyz needs the upstream, which starts only after doorman's startup: deadlock.
            self.assertNotEqual(d["startupProbe"].get("httpGet", {}).get("path"), "/readyz")
        self.assertIn("memory", d["resources"].get("limits", {}), "doorman: memory limit")
        sc = d["securityContext"]
        self.assertIs(sc.get("runAsNonRoot"), True)
        self.assertEqual(sc.get("runAsUser"), DOORMAN_UID)
        self.assertGreater(sc.get("runAsGroup", 1), 0)
        self.assertEqual(d["args"][:1], ["serve"])
        app = container(pod, "app", init=False)
        self.assertNotIn("restartPolicy", app)

    def test_config_and_secret_wiring(self):
        pod = self.pod()
        d = container(pod, "doorman", init=True)
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {}
        for m in d["volumeMounts"]:
            vol = volumes[m["name"]]
            if "configMap" in vol:
                mounts["config"] = m
            elif "secret" in vol:
                mounts["secret"] = m
        self.assertIn("config", mounts, "doorman mounts its ConfigMap")
        self.assertIn("secret", mounts, "doorman mounts its Secret")
        for m in mounts.values():
            self.assertIs(m.get("readOnly"), True)
        cm_name = volumes[mounts["config"]["name"]]["configMap"]["name"]
        cms = {o["metadata"]["name"]: o for o in by_kind(self.objects, "ConfigMap")}
        self.assertIn(cm_name, cms, "the ConfigMap volume names a rendered ConfigMap")
        config_path = d["args"][d["args"].index("--config") + 1]
        self.assertEqual(os.path.dirname(config_path), mounts["config"]["mountPath"])
        self.assertIn(os.path.basename(config_path), cms[cm_name]["data"])
        config_text = cms[cm_name]["data"][os.path.basename(config_path)]
        secret_dir = mounts["secret"]["mountPath"].rstrip("/") + "/"
        files = re.findall(r"^\s*\w+_file:\s*\"?([^\s\"#]+)", config_text, re.M)
        self.assertTrue(files, "the config reads at least one *_file secret")
        for f in files:
            self.assertTrue(f.startswith(secret_dir), f"{f} should be under the Secret mount {secret_dir}")
        # Every ${VAR} without a default (outside comments) is given to the container.
        code = "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in config_text.splitlines())
        needed = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", code))
        self.assertTrue(needed, "the database and Redis URLs come from the environment")
        given = {e["name"] for e in d.get("env", [])}
        self.assertEqual(needed - given, set(), "env vars the config needs but the container lacks")
        for e in d.get("env", []):
            if "valueFrom" in e:
                self.assertIn("secretKeyRef", e["valueFrom"], "credentials come from the Secret")

    def test_service_goes_through_doorman(self):
        svc = one(self, self.objects, "Service")
        dep = self.deployment()
        labels = dep["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()))
        d = container(self.pod(), "doorman", init=True)
        for p in svc["spec"]["ports"]:
            self.assertTrue(1 <= p["port"] <= 65535)
            self.assertEqual(port_number(d, p.get("targetPort", p["port"])), HTTP_PORT,
                             "the Service must target doorman's http port only")
        self.assertNotIn(APP_PORT, [p["port"] for p in svc["spec"]["ports"]])

    def test_pdb_and_network_policy(self):
        labels = self.deployment()["spec"]["template"]["metadata"]["labels"]
        replicas = self.deployment()["spec"].get("replicas", 1)
        pdb = one(self, self.objects, "PodDisruptionBudget")
        self.assertTrue(selector_matches(pdb["spec"]["selector"], labels), "PDB selector")
        spec = pdb["spec"]
        self.assertEqual(("minAvailable" in spec) + ("maxUnavailable" in spec), 1, "one of minAvailable/maxUnavailable")
        if "minAvailable" in spec and isinstance(spec["minAvailable"], int):
            self.assertLess(spec["minAvailable"], replicas, "a PDB that blocks every drain")
        if isinstance(spec.get("maxUnavailable"), int):
            self.assertGreaterEqual(spec["maxUnavailable"], 1)
        np = one(self, self.objects, "NetworkPolicy")
        self.assertTrue(selector_matches(np["spec"]["podSelector"], labels), "NetworkPolicy selector")
        self.assertIn("Ingress", np["spec"]["policyTypes"])
        allowed = {p.get("port") for rule in np["spec"].get("ingress", []) for p in rule.get("ports", [])}
        self.assertTrue(allowed, "ingress rules must name ports (an empty list would open every port)")
        self.assertIn(HTTP_PORT, allowed)
        self.assertNotIn(APP_PORT, allowed, "the app's own port must stay closed")


class BaseManifestTest(ManifestChecks, unittest.TestCase):
    DIR = BASE

    def test_base_holds_no_secret(self):
        self.assertEqual(by_kind(self.objects, "Secret"), [], "the base must not ship credentials")


class OverlayManifestTest(ManifestChecks, unittest.TestCase):
    DIR = OVERLAY

    def test_overlay_settings(self):
        ns = one(self, self.objects, "Namespace")["metadata"]["name"]
        for o in self.objects:
            if o["kind"] in NAMESPACED:
                self.assertEqual(o["metadata"].get("namespace"), ns, f"{o['kind']}/{o['metadata']['name']}")
        self.assertEqual(self.deployment()["spec"]["replicas"], 3)
        d = container(self.pod(), "doorman", init=True)
        image = d["image"]
        self.assertRegex(image, r"^[^@]+:[^/:]+$", "doorman image pinned to a tag")
        self.assertFalse(image.endswith(":latest"), "doorman image must not be :latest")
        base = render(BASE)
        base_d = container(one(self, base, "Deployment")["spec"]["template"]["spec"], "doorman", init=True)
        raised = False
        for section in ("requests", "limits"):
            for key, v in base_d["resources"].get(section, {}).items():
                mine = quantity(d["resources"][section][key])
                self.assertGreaterEqual(mine, quantity(v), f"{section}.{key} lowered")
                raised = raised or mine > quantity(v)
        self.assertTrue(raised, "the overlay raises doorman's resources")

    def test_secret_references_resolve(self):
        secrets = {o["metadata"]["name"]: o for o in by_kind(self.objects, "Secret")}
        pod = self.pod()
        for v in pod["volumes"]:
            if "secret" in v:
                self.assertIn(v["secret"]["secretName"], secrets)
        for c in pod.get("initContainers", []) + pod["containers"]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    self.assertIn(ref["name"], secrets, e["name"])
                    self.assertIn(ref["key"], secrets[ref["name"]]["data"], e["name"])

    def test_config_passes_check_config(self):
        doorman_bin = os.environ.get("DOORMAN_BIN")
        if not doorman_bin:
            self.skipTest("DOORMAN_BIN is not set (ctest sets it)")
        pod = self.pod()
        d = container(pod, "doorman", init=True)
        volumes = {v["name"]: v for v in pod["volumes"]}
        secrets = {o["metadata"]["name"]: o for o in by_kind(self.objects, "Secret")}
        cms = {o["metadata"]["name"]: o for o in by_kind(self.objects, "ConfigMap")}
        tmp = tempfile.mkdtemp(prefix="doorman-deploy-")
        self.addCleanup(shutil.rmtree, tmp, True)
        # Lay out the pod's mounts under tmp, rewriting their paths in the config.
        config_path = d["args"][d["args"].index("--config") + 1]
        rewrites, config_file = [], None
        for m in d["volumeMounts"]:
            vol = volumes[m["name"]]
            local = os.path.join(tmp, m["mountPath"].lstrip("/"))
            os.makedirs(local, exist_ok=True)
            if "configMap" in vol:
                for key, text in cms[vol["configMap"]["name"]]["data"].items():
                    with open(os.path.join(local, key), "w") as f:
                        f.write(text)
                config_file = os.path.join(local, os.path.basename(config_path))
            elif "secret" in vol:
                for key, b64 in secrets[vol["secret"]["secretName"]]["data"].items():
                    with open(os.path.join(local, key), "wb") as f:
                        f.write(base64.b64decode(b64))
                rewrites.append((m["mountPath"].rstrip("/") + "/", local + "/"))
        self.assertIsNotNone(config_file)
        with open(config_file) as f:
            text = f.read()
        for old, new in rewrites:
            text = text.replace(old, new)
        with open(config_file, "w") as f:
            f.write(text)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for e in d.get("env", []):
            if "value" in e:
                env[e["name"]] = e["value"]
            else:
                ref = e["valueFrom"]["secretKeyRef"]
                env[e["name"]] = base64.b64decode(secrets[ref["name"]]["data"][ref["key"]]).decode()
        out = run([doorman_bin, "check-config", "--config", config_file], env=env, cwd=tmp)
        lines = [l for l in out.stderr.splitlines() if l.strip()]
        if out.returncode == 0:
            print("check-config: the deploy config is accepted as is", file=sys.stderr)
            self.assertIn("secret", out.stdout)
            return
        # Tolerated until PostgreSQL and the redis strategy land (see the module docstring).
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertTrue(lines, "check-config failed without saying why")
        others = [l for l in lines if "not supported yet" not in l]
        self.assertEqual(others, [], "the deploy config has errors besides features not supported yet:\n" + out.stderr)
        print("check-config: accepted except for features not supported yet by this build:\n  "
              + "\n  ".join(lines), file=sys.stderr)


# --------------------------------------------------------------------------
# Dockerfile


def dockerfile_stages():
    """[(from_line, [(INSTRUCTION, args)])] with continuation lines joined."""
    with open(DOCKERFILE) as f:
        raw = f.read().splitlines()
    logical, current = [], ""
    for line in raw:
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    stages = []
    for line in logical:
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stages.append((args.strip(), []))
        elif stages:
            stages[-1][1].append((instr, args.strip()))
    return stages


def apt_packages(instructions):
    pkgs = []
    for instr, args in instructions:
        if instr != "RUN":
            continue
        for m in re.finditer(r"apt-get install ([^&;|]*)", args):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


def makefile_packages():
    with open(os.path.join(ROOT, "Makefile")) as f:
        text = f.read()
    m = re.search(r"^DEB_PACKAGES\s*:=\s*((?:.*\\\n)*.*)$", text, re.M)
    return m.group(1).replace("\\\n", " ").split() if m else []


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = dockerfile_stages()
        cls.final = cls.stages[-1][1]

    def instr(self, name):
        return [a for i, a in self.final if i == name]

    def test_stages(self):
        self.assertGreaterEqual(len(self.stages), 2, "multi-stage")
        for image, _ in self.stages:
            self.assertRegex(image, r"^debian:12(-slim)?\b", "Debian 12 based")
        self.assertRegex(self.stages[-1][0], r"^debian:12-slim\b")
        copies = self.instr("COPY")
        self.assertTrue(any(c.startswith("--from=") and c.split()[-1] == "/usr/local/bin/doorman" for c in copies),
                        "the final stage copies only the built binary from the build stage")
        self.assertFalse(any(not c.startswith("--from=") for c in copies), "no sources in the final stage")

    def test_builder_installs_the_makefile_build_packages(self):
        build = apt_packages(self.stages[0][1])
        wanted = [p for p in makefile_packages() if p.endswith("-dev") or p in ("build-essential", "cmake", "pkg-config")]
        self.assertTrue(wanted, "could not read DEB_PACKAGES from the Makefile")
        self.assertEqual(sorted(set(wanted) - set(build)), [], "build packages missing from the build stage")

    def test_final_stage_is_runtime_only_and_non_root(self):
        pkgs = apt_packages(self.final)
        self.assertTrue(pkgs)
        bad = [p for p in pkgs if p.endswith("-dev") or p in
               ("build-essential", "cmake", "pkg-config", "gcc", "g++", "make", "clang", "binutils")]
        self.assertEqual(bad, [], "build tools in the runtime image")
        self.assertTrue(any("rm -rf /var/lib/apt/lists" in a for i, a in self.final if i == "RUN"))
        users = self.instr("USER")
        self.assertTrue(users, "the final stage sets USER")
        uid, _, gid = users[-1].partition(":")
        self.assertTrue(uid.isdigit() and int(uid) > 0, "USER must be a numeric non-root uid (runAsNonRoot checks it)")
        self.assertEqual(int(uid), DOORMAN_UID)
        self.assertTrue(gid.isdigit() and int(gid) > 0)

    def test_entrypoint_ports_and_manifest_agree(self):
        self.assertEqual(json.loads(self.instr("ENTRYPOINT")[-1]), ["/usr/local/bin/doorman"])
        cmd = json.loads(self.instr("CMD")[-1])
        exposed = {int(p.split("/")[0]) for a in self.instr("EXPOSE") for p in a.split()}
        self.assertEqual(exposed, {HTTP_PORT, ADMIN_PORT})
        pod = one(self, render(BASE), "Deployment")["spec"]["template"]["spec"]
        d = container(pod, "doorman", init=True)
        self.assertEqual(d["args"], cmd, "the manifest's args and the image's CMD name the same config")
        self.assertEqual({p["containerPort"] for p in d["ports"]}, exposed)

    def test_dockerignore_keeps_build_trees_out(self):
        with open(DOCKERFILE + ".dockerignore") as f:
            patterns = f.read().split()
        for p in (".git", "build", "build-*"):
            self.assertIn(p, patterns)

    def test_runtime_packages_cover_the_binary(self):
        """Each shared library doorman needs comes from a package the final stage installs."""
        doorman_bin = os.environ.get("DOORMAN_BIN")
        if not doorman_bin or not os.path.exists(doorman_bin):
            self.skipTest("DOORMAN_BIN is not set (ctest sets it)")
        for tool in ("ldd", "readelf", "dpkg"):
            if not shutil.which(tool):
                self.skipTest(f"{tool} is not available to map libraries to packages")
        listed = set(apt_packages(self.final))
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run(["readelf", "-d", doorman_bin]).stdout)
        self.assertTrue(needed)
        resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", run(["ldd", doorman_bin]).stdout, re.M))
        missing = []
        for lib in needed:
            self.assertIn(lib, resolved, f"ldd cannot resolve {lib}")
            package = dpkg_owner(resolved[lib])
            self.assertIsNotNone(package, f"no Debian package owns {resolved[lib]}")
            if package != "libc6" and package not in listed:  # libc6 is in every Debian image
                missing.append(f"{lib} ({package})")
        self.assertEqual(missing, [], "add these packages to the Dockerfile's runtime stage")

    def test_runtime_packages_exist_in_debian(self):
        lists = "/var/lib/apt/lists"
        have_lists = os.path.isdir(lists) and any("_Packages" in n for n in os.listdir(lists))
        if not shutil.which("apt-cache") or not have_lists:
            self.skipTest("no apt package lists here (run apt-get update) to look the names up")
        unknown = [p for p in apt_packages(self.final) if run(["apt-cache", "show", p]).returncode != 0]
        self.assertEqual(unknown, [], "unknown Debian packages in the runtime stage")


def dpkg_owner(path):
    """The package that owns a library path; tries the /usr-merged spellings too."""
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):
        if p.startswith("/usr/lib/"):
            candidates.append(p[len("/usr"):])
        elif p.startswith("/lib/"):
            candidates.append("/usr" + p)
    for p in candidates:
        out = run(["dpkg", "-S", p])
        if out.returncode == 0:
            return out.stdout.split(":", 1)[0].strip()
    return None


if __name__ == "__main__":
    unittest.main(verbosity=2)
