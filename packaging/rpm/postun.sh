# sonde %postun ($1 = 0 on erase, 1 on upgrade): reload units; restart on upgrade so the new
# binary runs its migrations. RPM has no purge: /var/lib/sonde is kept on erase; delete it by
# hand to drop the store.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart sonde.service >/dev/null 2>&1 || :
    fi
fi
exit 0
