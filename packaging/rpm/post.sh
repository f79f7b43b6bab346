# sonde %post ($1 = 1 on install, 2 on upgrade): the state directory, then enable and start
# the service on a first install. Upgrades restart it in %postun, once the old files are gone.
if [ ! -d /var/lib/sonde ]; then
    install -d -o sonde -g sonde -m 0750 /var/lib/sonde
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 1 ]; then
        systemctl enable --now sonde.service >/dev/null 2>&1 || :
    fi
fi
exit 0
