# cutover as a container image: the generators and the merge of a sharded rehearsal
# (deploy/kubernetes/), or any other command.
#
#   docker build -t cutover:latest .
#   docker run --rm cutover:latest simulate scenarios/ci-smoke.json --out /tmp/r
#
# Two stages: the release build on the Rust image, then only the binary, the bundled
# scenarios and profiles and the CA certificates (https:// targets) on a slim Debian of the
# same release (its glibc is the one the binary was linked against).

FROM rust:1.95-slim-trixie AS build
WORKDIR /src
# No line tables in the image's binary (the repository's release profile keeps them for
# profiling): about 120 MB smaller.
ENV CARGO_PROFILE_RELEASE_DEBUG=false
# The dependencies first, built once and cached while only src/ changes.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY src src
# Files the sources include at compile time (include_str!).
COPY scenarios scenarios
COPY profiles profiles
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin cutover

FROM debian:trixie-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --create-home cutover
COPY --from=build /src/target/release/cutover /usr/local/bin/cutover
COPY scenarios /opt/cutover/scenarios
COPY profiles /opt/cutover/profiles
WORKDIR /opt/cutover
USER 10001
ENTRYPOINT ["cutover"]
CMD ["--help"]
