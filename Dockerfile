# The loadgen and target binaries in a distroless image: static, non-root.
# Build with `make image` (needs a Docker engine).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/loadgen ./cmd/loadgen && \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/target ./cmd/target

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="goodput" \
      org.opencontainers.image.description="open-loop load generator and chaos harness: loadgen and the reference target" \
      org.opencontainers.image.source="https://github.com/goodput-dev/goodput" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/loadgen /out/target /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/loadgen"]
