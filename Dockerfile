# reprise itself, as an image: FROM scratch with the static binary that
# `make build` makes (CGO_ENABLED=0), so it builds with no registry and no
# base image to pull:
#
#   make build && docker build -t reprise:dev .
#
# (Where a registry is reachable, a multi-stage build works as well: build
# the binary in a golang image with CGO_ENABLED=0 and COPY it here.)
#
# Run it with the engine's socket and a store on a volume, as a pod does:
#
#   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock \
#     -v reprise-data:/data reprise:dev --store /data/store replay /data/record.json --output /data/report
#
# The model, config and components reach the replayed container through
# the engine (a volume reprise fills and removes), not through a path of
# this container. reprise runs as root here: the engine's socket is
# root:docker 0660, and whoever holds it commands the engine anyway.
# /tmp (session folders, leases) is the one writable place it needs; with a
# read-only root filesystem, mount a tmpfs or an emptyDir there.
FROM scratch
COPY bin/reprise /usr/local/bin/reprise
# WORKDIR creates /tmp (scratch has none), where os.TempDir() points.
WORKDIR /tmp
ENV TMPDIR=/tmp
ENTRYPOINT ["/usr/local/bin/reprise"]
