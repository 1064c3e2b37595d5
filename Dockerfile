# Tidings in a container: `docker build -t tidings .` then
# `docker run -p 8080:8080 -v tidings-data:/var/lib/tidings tidings`.
# The image's config is config/tidings.toml with its database and output
# moved under /var/lib/tidings; mount your own at /etc/tidings to change it.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked --bin tidings

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/tidings tidings \
 && mkdir -p /var/lib/tidings /etc/tidings /usr/share/tidings \
 && chown tidings:tidings /var/lib/tidings
COPY --from=build /src/target/release/tidings /usr/local/bin/tidings
COPY config/taxonomy.toml /etc/tidings/taxonomy.toml
COPY feeds/sources.toml /etc/tidings/sources.toml
COPY config/tidings.toml /etc/tidings/tidings.toml
RUN sed -i -e 's#^database = .*#database = "/var/lib/tidings/tidings.sqlite"#' \
           -e 's#^dir = .*#dir = "/var/lib/tidings/public"#' \
           -e 's#^file = "../feeds/sources.toml"#file = "sources.toml"#' \
           /etc/tidings/tidings.toml
USER tidings
WORKDIR /var/lib/tidings
ENV RUST_LOG=info
EXPOSE 8080
VOLUME ["/var/lib/tidings"]
ENTRYPOINT ["/usr/local/bin/tidings", "--config", "/etc/tidings/tidings.toml"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
