# syntax=docker/dockerfile:1
# The base the release image is assembled on by `secure-gates release image --base`:
# the Dockerfile's runtime stage without our binaries. The scan gate's pull-request
# history pass (and iac-changed-only) run the git CLI, so the action image keeps git.
# The FROM is pinned by digest; the apt packages are what Debian bookworm serves on
# the day of the release, so the base is pinned by the digest the release pushes and
# records (org.opencontainers.image.base.digest), not rebuilt bit for bit. Everything
# secure-gates adds on top is reproducible from the commit (see README "Releases").
FROM debian:bookworm-slim@sha256:4b50eb66f977b4062683ff434ef18ac191da862dbe966961bc11990cf5791a8d
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'
