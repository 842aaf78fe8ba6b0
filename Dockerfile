# A container image of Trent. Untested on the machines Trent is developed on (no Docker there):
# it runs the same `cargo install` that CI checks, then copies the binary into a small image.
#   docker build -t trent . && docker run -p 4599:4599 trent
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo install --locked --path crates/trent --root /out

FROM debian:bookworm-slim
COPY --from=build /out/bin/trent /usr/local/bin/trent
# The development credentials (test/test) are refused on a non-loopback address: give a config
# with accounts (TRENT_CONFIG) to listen on 0.0.0.0 inside the container.
ENV TRENT_DATA_DIR=/var/lib/trent
VOLUME /var/lib/trent
EXPOSE 4599
ENTRYPOINT ["trent"]
CMD ["serve"]
