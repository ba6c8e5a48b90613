# syntax=docker/dockerfile:1
# The secure-gates action image. Every FROM is pinned by digest (update them with a
# dependency bot, never by hand to a tag). GitHub runs container actions as root so
# they can read GITHUB_WORKSPACE: there is deliberately no USER and no WORKDIR (the
# runner sets the working directory to the workspace).

# Build stage: a static, stripped binary. go.mod asks for go1.26.8 or newer;
# GOTOOLCHAIN fetches exactly that toolchain (checksum-verified) if the base is older.
FROM golang:1.26@sha256:9edf71320ef8a791c4c33ec79f90496d641f306a91fb112d3d060d5c1cee4e20 AS build
ENV GOTOOLCHAIN=go1.26.8 CGO_ENABLED=0 GOFLAGS=-mod=readonly
COPY go.mod go.sum /src/
RUN cd /src && go mod download
COPY . /src
ARG VERSION=dev
RUN cd /src && go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/secure-gates .

# slsa-verifier stage: slsa-verifier v2.7.1 verifies slsa-github-generator (SLSA
# Build L3) provenance. It cannot be linked beside cosign v2.6.5 (it needs
# sigstore-go v0.6.x), so it is built from its own module at the pinned version and
# verify-and-deploy runs it as a binary.
FROM golang:1.26@sha256:9edf71320ef8a791c4c33ec79f90496d641f306a91fb112d3d060d5c1cee4e20 AS slsa-verifier
ENV GOTOOLCHAIN=go1.26.8 CGO_ENABLED=0 GOBIN=/out
RUN go install -trimpath -ldflags "-s -w" github.com/slsa-framework/slsa-verifier/v2/cli/slsa-verifier@v2.7.1

# Runtime stage: Debian slim with git (history scans need it) and CA certificates.
FROM debian:bookworm-slim@sha256:4b50eb66f977b4062683ff434ef18ac191da862dbe966961bc11990cf5791a8d
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'
COPY --from=build /out/secure-gates /usr/local/bin/secure-gates
COPY --from=slsa-verifier /out/slsa-verifier /usr/local/bin/slsa-verifier
ENTRYPOINT ["/usr/local/bin/secure-gates"]
