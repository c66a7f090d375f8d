"""The hub's configuration as the Zero-to-JupyterHub chart builds it from Helm values, for the users' pods.

The chart's hub pod turns the Helm values (the chart's defaults merged with ours) into a traitlets
``Config`` for JupyterHub and KubeSpawner, then executes ``hub.extraConfig``; KubeSpawner makes every
user's pod from that ``Config``. This module does the same for the keys ``hub/k8s/values.yaml`` sets
and for the chart defaults that end up in a user's pod (image, command, uid and fsGroup, the home
volume's claim, extra volumes, environment, resources, labels, tolerations, node affinity, scheduler,
the cloud-metadata init container). It follows **chart 4.3.1** and was written from reading the
chart's documented behaviour (the configuration reference,
https://z2jh.jupyter.org/en/stable/resources/reference.html, and what its hub's
``jupyterhub_config.py`` does with each key at that tag); none of the chart's files are copied here.

Kept on purpose because the course's pre-spawn hook depends on it:

- volumes and volume mounts reach KubeSpawner as **dicts** keyed by name (the chart's form, so that
  values files merge), never lists;
- ``singleuser.extraEnv`` is passed unchanged as ``KubeSpawner.environment``: KubeSpawner expands
  ``{...}`` in its strings as templates, which is why the hook passes its values as callables;
- ``hub.extraConfig`` snippets run in key order in one shared namespace holding ``c``, as the chart
  runs them, after everything else.

A values key outside :data:`KEYS` is not modelled: :func:`undocumented` names it, so a values file
using it fails the test instead of producing a pod the chart would not make. Before a real deploy,
``helm lint`` / ``helm template`` with the chart itself remain the check of the whole values file
(grading/HUB.md).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping

from traitlets.config import Config

CHART_VERSION = "4.3.1"

#: The chart's defaults (4.3.1) for the keys below that matter to a user's pod; Helm merges ours over these.
DEFAULTS: dict = {
    "hub": {
        "config": {"JupyterHub": {"admin_access": True, "authenticator_class": "dummy"}},
        "extraConfig": {},
        "extraEnv": {},
    },
    "singleuser": {
        "image": {"name": "quay.io/jupyterhub/k8s-singleuser-sample", "tag": CHART_VERSION},
        "cmd": "jupyterhub-singleuser",
        "uid": 1000,
        "fsGid": 100,
        "allowPrivilegeEscalation": False,
        # the chart's network policy lets pods with this label reach the hub
        "extraLabels": {"hub.jupyter.org/network-access-hub": "true"},
        "extraAnnotations": {},
        "extraEnv": {},
        "nodeSelector": {},
        "extraTolerations": [],
        "lifecycleHooks": {},
        "initContainers": [],
        "extraContainers": [],
        "cpu": {"limit": None, "guarantee": None},
        "memory": {"limit": None, "guarantee": "1G"},
        "storage": {
            "type": "dynamic",
            "capacity": "10Gi",
            "homeMountPath": "/home/jovyan",
            "extraLabels": {},
            "extraVolumes": {},
            "extraVolumeMounts": {},
            "dynamic": {"storageClass": None, "pvcNameTemplate": None, "volumeNameTemplate": "volume-{user_server}",
                        "storageAccessModes": ["ReadWriteOnce"], "subPath": None},
            "static": {"pvcName": None, "subPath": "{username}"},
        },
        "cloudMetadata": {"blockWithIptables": True, "ip": "169.254.169.254"},
        "networkTools": {"image": {"name": "quay.io/jupyterhub/k8s-network-tools", "tag": CHART_VERSION},
                         "resources": {}},
    },
    "scheduling": {
        "userScheduler": {"enabled": True},
        "podPriority": {"enabled": False},
        "userPods": {
            # user pods tolerate the taint of the chart's dedicated user nodes (both spellings it documents)
            "tolerations": [{"key": k, "operator": "Equal", "value": "user", "effect": "NoSchedule"}
                            for k in ("hub.jupyter.org/dedicated", "hub.jupyter.org_dedicated")],
            "nodeAffinity": {"matchNodePurpose": "prefer"},
        },
    },
}

#: ``singleuser.<key>`` -> the KubeSpawner trait the chart sets from it unchanged (when not null).
PASS_THROUGH = {
    "uid": "uid",
    "fsGid": "fs_gid",
    "extraLabels": "extra_labels",
    "extraAnnotations": "extra_annotations",
    "nodeSelector": "node_selector",
    "lifecycleHooks": "lifecycle_hooks",
    "initContainers": "init_containers",
    "extraContainers": "extra_containers",
    "memory.limit": "mem_limit",
    "memory.guarantee": "mem_guarantee",
    "cpu.limit": "cpu_limit",
    "cpu.guarantee": "cpu_guarantee",
    "extraEnv": "environment",
    "extraPodConfig": "extra_pod_config",
    "serviceAccountName": "service_account",
    "storage.extraLabels": "storage_extra_labels",
    "image.pullPolicy": "image_pull_policy",
    "podNameTemplate": "pod_name_template",
}

_SIZE = (str, int, float)  # "2G", or bytes
_NUMBER = (int, float)
_MAP, _LIST, _TEXT, _FLAG = (dict,), (list,), (str,), (bool,)
_PASS_TYPES = {
    "uid": (int,), "fsGid": (int,), "extraLabels": _MAP, "extraAnnotations": _MAP, "nodeSelector": _MAP,
    "lifecycleHooks": _MAP, "initContainers": _LIST, "extraContainers": _LIST, "memory.limit": _SIZE,
    "memory.guarantee": _SIZE, "cpu.limit": _NUMBER, "cpu.guarantee": _NUMBER, "extraEnv": _MAP,
    "extraPodConfig": _MAP, "serviceAccountName": _TEXT, "storage.extraLabels": _MAP, "image.pullPolicy": _TEXT,
    "podNameTemplate": _TEXT,
}

#: Every values key this module models (dotted path -> allowed Python types, or the allowed values), all
#: documented in the chart 4.3.1 configuration reference. A map listed here is free-form below it
#: (trait sections, environment, snippets, labels). ``cull.*`` is documented but makes no pod: listed so
#: our values may set it.
KEYS: dict[str, tuple | frozenset] = {
    **{f"singleuser.{key}": types for key, types in _PASS_TYPES.items()},
    "hub.config": _MAP,
    "hub.extraConfig": _MAP,
    "hub.extraEnv": (dict, list),
    "singleuser.image.name": _TEXT,
    "singleuser.image.tag": (str, int, float),
    "singleuser.cmd": (str, list),
    "singleuser.defaultUrl": _TEXT,
    "singleuser.allowPrivilegeEscalation": _FLAG,
    "singleuser.extraTolerations": _LIST,
    "singleuser.storage.type": frozenset({"dynamic", "static", "none"}),
    "singleuser.storage.capacity": _TEXT,
    "singleuser.storage.homeMountPath": _TEXT,
    "singleuser.storage.extraVolumes": (dict, list),
    "singleuser.storage.extraVolumeMounts": (dict, list),
    "singleuser.storage.dynamic.storageClass": _TEXT,
    "singleuser.storage.dynamic.pvcNameTemplate": _TEXT,
    "singleuser.storage.dynamic.volumeNameTemplate": _TEXT,
    "singleuser.storage.dynamic.storageAccessModes": _LIST,
    "singleuser.storage.dynamic.subPath": _TEXT,
    "singleuser.storage.static.pvcName": _TEXT,
    "singleuser.storage.static.subPath": _TEXT,
    "singleuser.cloudMetadata.blockWithIptables": _FLAG,
    "singleuser.cloudMetadata.ip": _TEXT,
    "singleuser.networkTools.image.name": _TEXT,
    "singleuser.networkTools.image.tag": _TEXT,
    "singleuser.networkTools.resources": _MAP,
    "scheduling.userScheduler.enabled": _FLAG,
    "scheduling.podPriority.enabled": _FLAG,
    "scheduling.userPods.tolerations": _LIST,
    "scheduling.userPods.nodeAffinity.matchNodePurpose": frozenset({"prefer", "require", "ignore"}),
    "cull.enabled": _FLAG,
    "cull.timeout": (int,),
}


def merge(defaults: Mapping, ours: Mapping) -> dict:
    """Helm's merge of values: maps merged key by key, anything else replaced, a key set to null dropped.

    Parameters
    ----------
    defaults, ours : Mapping
        Nested values; ``ours`` wins.

    Returns
    -------
    dict
        A new nested dict (the inputs are not changed).
    """
    out = dict(defaults)
    for key, value in ours.items():
        both_maps = isinstance(value, Mapping) and isinstance(defaults.get(key), Mapping)
        out[key] = merge(defaults[key], value) if both_maps else value
    return {k: v for k, v in out.items() if v is not None}


def values(*files: Mapping) -> dict:
    """The values the chart renders with: its defaults, then each ``--values`` file in order.

    Parameters
    ----------
    *files : Mapping
        Parsed values files, as given to ``helm --values`` (later ones win).

    Returns
    -------
    dict
    """
    out = copy.deepcopy(DEFAULTS)  # snippets and traits may change what they are given: never the defaults
    for one in files:
        out = merge(out, one)
    return out


def _fits(value, allowed) -> bool:
    if isinstance(allowed, frozenset):
        return value in allowed
    if isinstance(value, bool) and bool not in allowed:  # YAML's true is not a uid or a CPU count
        return False
    return isinstance(value, allowed)


def undocumented(ours: Mapping, prefix: str = "") -> list[str]:
    """The keys of a values file this model does not know, or whose value has the wrong type.

    Parameters
    ----------
    ours : Mapping
        A parsed values file (not merged with the defaults).
    prefix : str
        The dotted path of ``ours`` inside the whole file (for the recursion).

    Returns
    -------
    list of str
        One line per problem, ``"<dotted.key>: <why>"``; empty when every key is known.
    """
    problems = []
    for key, value in ours.items():
        path = f"{prefix}{key}"
        if path in KEYS:
            if value is not None and not _fits(value, KEYS[path]):
                problems.append(f"{path}: {value!r} is not one of {KEYS[path]}")
        elif isinstance(value, Mapping) and any(k.startswith(path + ".") for k in KEYS):
            problems.extend(undocumented(value, path + "."))
        else:
            problems.append(f"{path}: not a chart {CHART_VERSION} key that tests/chart_config.py models "
                            "(a typo, or a key to model first)")
    return problems


def _get(tree: Mapping, dotted: str, default=None):
    for level in dotted.split("."):
        if not isinstance(tree, Mapping) or level not in tree:
            return default
        tree = tree[level]
    return tree


def _env_entries(env) -> list[dict]:
    # the chart takes extraEnv as a map (name -> value, or name -> an env entry's other fields) or as a list
    if isinstance(env, Mapping):
        return [{"name": k, "value": v} if not isinstance(v, Mapping) else {"name": k, **v} for k, v in env.items()]
    return list(env)


def hub_environment(merged: Mapping, secrets: Mapping[str, Mapping[str, str]]) -> dict[str, str | None]:
    """The hub container's environment from ``hub.extraEnv``, as Kubernetes resolves it.

    Parameters
    ----------
    merged : Mapping
        Values from :func:`values`.
    secrets : Mapping
        The namespace's secrets: secret name -> key -> value.

    Returns
    -------
    dict
        Variable -> value; ``None`` for a variable from an optional secret (key) that is absent, which
        Kubernetes leaves unset.

    Raises
    ------
    LookupError
        A non-optional secret or key is missing: Kubernetes does not start the hub.
    ValueError
        A source other than a literal or a ``secretKeyRef`` (not modelled).
    """
    out: dict[str, str | None] = {}
    for entry in _env_entries(_get(merged, "hub.extraEnv", {})):
        name = entry["name"]
        if "valueFrom" not in entry:
            out[name] = str(entry.get("value", ""))
            continue
        ref = entry["valueFrom"].get("secretKeyRef")
        if ref is None:
            raise ValueError(f"hub.extraEnv.{name}: only literals and secretKeyRef are modelled")
        value = secrets.get(ref["name"], {}).get(ref["key"])
        if value is None and not ref.get("optional", False):
            raise LookupError(f"hub.extraEnv.{name}: secret {ref['name']}/{ref['key']} is missing")
        out[name] = value
    return out


def _volumes(merged: Mapping) -> tuple[dict, dict]:
    """The home volume for the storage type, then ``extraVolumes``/``extraVolumeMounts``, all keyed by name."""
    storage = _get(merged, "singleuser.storage", {})
    volumes, mounts = {}, {}
    if storage.get("type") == "dynamic":
        name = _get(storage, "dynamic.volumeNameTemplate")
        # "{pvc_name}" is a template KubeSpawner fills with the claim it makes for the user
        volumes[name] = {"name": name, "persistentVolumeClaim": {"claimName": "{pvc_name}"}}
        mounts[name] = {"mountPath": storage.get("homeMountPath"), "name": name,
                        "subPath": _get(storage, "dynamic.subPath")}
    elif storage.get("type") == "static":
        volumes["home"] = {"name": "home", "persistentVolumeClaim": {"claimName": _get(storage, "static.pvcName")}}
        mounts["home"] = {"mountPath": storage.get("homeMountPath"), "name": "home",
                          "subPath": _get(storage, "static.subPath")}
    extra = storage.get("extraVolumes", {})
    volumes.update(extra if isinstance(extra, Mapping) else {v["name"]: v for v in extra})
    extra = storage.get("extraVolumeMounts", {})
    # a mount's name need not be unique (one volume, several subPaths), so a list's position is in the key
    mounts.update(extra if isinstance(extra, Mapping) else {f"{i}-{m['name']}": m for i, m in enumerate(extra)})
    return volumes, mounts


def _cloud_metadata_block(merged: Mapping):
    """The chart's privileged init container that drops the pod's traffic to the cloud's metadata server."""
    # a kubernetes model object, not a dict, as the chart makes it: the hook must cope with both in the list
    from kubernetes_asyncio.client import V1Capabilities, V1Container, V1SecurityContext

    tools = _get(merged, "singleuser.networkTools", {})
    ip = _get(merged, "singleuser.cloudMetadata.ip")
    return V1Container(
        name="block-cloud-metadata", image=f"{tools['image']['name']}:{tools['image']['tag']}",
        command=["iptables", "--append", "OUTPUT", "--protocol", "tcp", "--destination", ip,
                 "--destination-port", "80", "--jump", "DROP"],
        security_context=V1SecurityContext(privileged=True, run_as_user=0,
                                           capabilities=V1Capabilities(add=["NET_ADMIN"])),
        resources=tools.get("resources"))


def _pod_traits(c: Config, merged: Mapping, release: str) -> None:
    """The KubeSpawner and Spawner traits the chart sets from ``singleuser`` and ``scheduling``."""
    k = c.KubeSpawner
    # the chart's common labels, with managed-by naming KubeSpawner instead of Helm
    chart = f"jupyterhub-{CHART_VERSION}"
    k.common_labels = {"app.kubernetes.io/name": "jupyterhub", "app": "jupyterhub",
                       "app.kubernetes.io/instance": release, "release": release,
                       "helm.sh/chart": chart, "chart": chart, "app.kubernetes.io/managed-by": "kubespawner"}
    for key, trait in PASS_THROUGH.items():
        value = _get(merged, f"singleuser.{key}")
        if value is not None:
            setattr(k, trait, value)
    image = _get(merged, "singleuser.image", {})
    if image.get("name"):
        k.image = f"{image['name']}:{image['tag']}" if image.get("tag") else image["name"]
    # None is a meaningful value here (KubeSpawner then leaves the field out), so it is set whatever it is
    k.allow_privilege_escalation = _get(merged, "singleuser.allowPrivilegeEscalation")
    tolerations = _get(merged, "scheduling.userPods.tolerations", []) + _get(merged, "singleuser.extraTolerations", [])
    if tolerations:
        k.tolerations = tolerations
    # resource names: the chart's default fullnameOverride "" leaves them unprefixed
    if _get(merged, "scheduling.userScheduler.enabled"):
        k.scheduler_name = "user-scheduler"
    if _get(merged, "scheduling.podPriority.enabled"):
        k.priority_class_name = "priority"
    purpose = _get(merged, "scheduling.userPods.nodeAffinity.matchNodePurpose")
    term = {"matchExpressions": [{"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]}]}
    if purpose == "prefer":
        k.node_affinity_preferred = [{"weight": 100, "preference": term}]
    elif purpose == "require":
        k.node_affinity_required = [term]
    storage = _get(merged, "singleuser.storage", {})
    if storage.get("type") == "dynamic":
        k.storage_pvc_ensure = True
        for key, trait in (("dynamic.pvcNameTemplate", "pvc_name_template"), ("dynamic.storageClass", "storage_class"),
                           ("dynamic.storageAccessModes", "storage_access_modes"), ("capacity", "storage_capacity")):
            if _get(storage, key) is not None:
                setattr(k, trait, _get(storage, key))
    k.volumes, k.volume_mounts = _volumes(merged)
    if _get(merged, "singleuser.cloudMetadata.blockWithIptables") is True:
        k.init_containers = [*(_get(merged, "singleuser.initContainers") or []), _cloud_metadata_block(merged)]
    # a null cmd (dropped by the merge) means the image's own command: KubeSpawner's default then applies
    if "cmd" in merged.get("singleuser", {}):
        c.Spawner.cmd = merged["singleuser"]["cmd"]
    if _get(merged, "singleuser.defaultUrl") is not None:
        c.Spawner.default_url = _get(merged, "singleuser.defaultUrl")


def hub_config(merged: Mapping, *, release: str, namespace: str) -> Config:
    """The hub's traitlets configuration for values ``merged``, ``hub.extraConfig`` executed last.

    Run with the hub container's environment in ``os.environ`` (:func:`hub_environment`): the snippets
    read it, as they do in the hub pod.

    Parameters
    ----------
    merged : Mapping
        Values from :func:`values`.
    release, namespace : str
        The Helm release's name and namespace.

    Returns
    -------
    traitlets.config.Config
        What KubeSpawner(config=...) is built from.

    Raises
    ------
    ValueError
        A ``hub.config`` section that is not a Configurable's name (lower-case), which the chart refuses.
    """
    c = Config()
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    c.KubeSpawner.namespace = namespace
    _pod_traits(c, merged, release)
    for section, traits in _get(merged, "hub.config", {}).items():
        if not section[:1].isupper():
            raise ValueError(f"hub.config.{section}: sections are Configurable class names (upper-case first)")
        c[section].update(traits)
    # the snippets share one namespace, as they share the chart's config file's globals
    scope = {"c": c, "os": os, "get_config": lambda key, default=None: _get(merged, key, default)}
    for key, source in sorted(_get(merged, "hub.extraConfig", {}).items()):
        exec(compile(source, f"hub.extraConfig.{key}", "exec"), scope)
    return c
