"""The commented ``ipaudit.toml`` that ``ipaudit config example`` prints; a test checks it parses."""

from ipaudit.findings import Code

_TEMPLATE = '''\
# ipaudit.toml: what `ipaudit audit` checks, where it keeps its memory, and whom it tells.
# Search order: --config FILE, $IPAUDIT_CONFIG, /etc/ipaudit/ipaudit.toml, ~/.config/ipaudit/ipaudit.toml.
# Check it with: ipaudit config check /etc/ipaudit/ipaudit.toml

state_dir = "/var/lib/ipaudit"            # holds state.db and the lock
realert_after = "24h"                     # re-send a still-open conflict once; "0" = never
interval = "5m"                           # how often cron or the timer runs it (Alertmanager endsAt, stale-audit rule)

[[lan]]                                    # one table per segment (VLAN, site)
name = "home"
interface = "eth0"
subnet = "192.168.1.0/24"                  # optional when it can be inferred
gateway = "192.168.1.1"                    # optional when it can be inferred
dhcp_ranges = ["192.168.1.2-192.168.1.120"]
dhcp_sources = []                          # e.g. ["dnsmasq:/etc/dnsmasq.conf"], see `ipaudit sources`
allowed_dhcp = ["192.168.1.1"]             # DHCP servers allowed to answer: IPs or MACs
nodes = ["192.168.1.11", "192.168.1.12"]   # cluster nodes; their MACs are learned by ARP
pools = ["192.168.1.240-192.168.1.245"]    # address specs
pools_from = []                            # manifest files, "kubectl", "k8s"
ignore = [{code = "IGNORED_CODE", ip = "192.168.1.10"}]   # acknowledged, never alerted

[alerts]
# Apprise URLs (Slack, Discord, ntfy, Gotify, Telegram, mail, json://...). A URL holding a token
# can be written "env:NAME" to read it from the environment variable NAME.
urls = ["ntfy://ntfy.sh/my-ipaudit-topic"]
# alertmanager = "http://127.0.0.1:9093"   # optional: Alertmanager v2 API

[metrics]
# textfile = "/var/lib/prometheus/node-exporter/ipaudit.prom"   # node_exporter textfile collector
'''

#: The code is filled in from the registry, so a renamed code cannot leave the example stale.
EXAMPLE = _TEMPLATE.replace("IGNORED_CODE", str(Code.ARP_FLUX))
