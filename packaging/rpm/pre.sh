# sonde %pre: the sonde system user and group, on install and upgrade alike.
getent group sonde >/dev/null || groupadd --system sonde
getent passwd sonde >/dev/null || useradd --system --gid sonde --home-dir /var/lib/sonde \
    --no-create-home --shell /sbin/nologin --comment "Sonde network scanner" sonde
exit 0
