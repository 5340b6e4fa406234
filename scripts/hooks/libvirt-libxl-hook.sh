#!/bin/sh
# xenvfb: libvirt's libxl driver hook, installed as /etc/libvirt/hooks/libxl by
# `xenvfb install-hooks`. libvirtd runs it as `libxl <name> <operation> <sub-op> <extra>`
# with the domain XML on stdin (https://libvirt.org/hooks.html, "Script arguments").
#
# When the xenvfb-watch service runs, it already serves every domain with vfb/vkbd devices:
# this hook then does nothing. Otherwise it starts xenvfb@<domid>.service once the domain
# runs ("started") and stops it when the domain is gone ("stopped", "release").
# Exit 0 always on "release" and "stopped": libvirt must never fail a teardown because of us.
set -u
name=${1:-}
op=${2:-}

domid_from_xml() {
  # <domain type='xen' id='7'>: the first element's id attribute.
  sed -n "s/^[[:space:]]*<domain[^>]* id=['\"]\([0-9][0-9]*\)['\"].*/\1/p" | head -n 1
}

if systemctl is-active --quiet xenvfb-watch.service 2>/dev/null; then
  exit 0
fi

case "$op" in
  started)
    domid=$(domid_from_xml)
    if [ -z "$domid" ]; then
      echo "xenvfb libxl hook: no domain id in the XML of $name; not starting a backend" >&2
      exit 0
    fi
    mkdir -p /run/xenvfb && echo "$domid" > "/run/xenvfb/libvirt-$name.domid"
    systemctl start "xenvfb@$domid.service" || echo "xenvfb libxl hook: could not start xenvfb@$domid.service (see journalctl -u xenvfb@$domid)" >&2
    ;;
  stopped|release)
    f="/run/xenvfb/libvirt-$name.domid"
    if [ -f "$f" ]; then
      systemctl stop "xenvfb@$(cat "$f").service" 2>/dev/null
      rm -f "$f"
    fi
    ;;
esac
exit 0
