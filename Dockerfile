# syntax=docker/dockerfile:1
# TokenGrid's images: one silo (Orleans and the HTTP API) per container, started with the kubernetes profile.
#
#   docker build -t tokengrid:cpu .                 ONNX Runtime for the CPU (-p:OnnxRuntimeFlavor=cpu; the default target, "cpu")
#   docker build --target gpu -t tokengrid:gpu .    ONNX Runtime with CUDA (-p:OnnxRuntimeFlavor=gpu, the default build) on CUDA 13 and cuDNN 9
#
# Both run as user 1654, listen on 8080 (HTTP) and 11111 (silo; no Orleans gateway), and read TOKENGRID_PROFILE; the
# manifests in k8s/ mount the profile from a ConfigMap. The same settings for "dotnet publish -t:PublishContainer" are in
# src/TokenGrid.Silo/TokenGrid.Silo.csproj.
ARG DOTNET_SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG DOTNET_RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0
# ONNX Runtime 1.31.0 GPU links CUDA 13 (libcudart.so.13, libcublas.so.13) and loads cuDNN 9.
ARG CUDA_RUNTIME_IMAGE=nvidia/cuda:13.0.0-cudnn-runtime-ubuntu24.04
ARG NODE_IMAGE=node:20-bookworm-slim

# The dashboard's JavaScript libraries (npm, locked), which the silo's build embeds; the SDK image has no Node.js.
FROM ${NODE_IMAGE} AS dashboard
WORKDIR /dashboard
COPY src/TokenGrid.Silo/Dashboard/package.json src/TokenGrid.Silo/Dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts

# The restore inputs alone, so that the package layers are rebuilt only when a project file changes.
FROM ${DOTNET_SDK_IMAGE} AS projects
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props NuGet.config ./
COPY src/TokenGrid.Abstractions/TokenGrid.Abstractions.csproj src/TokenGrid.Abstractions/
COPY src/TokenGrid.Inference/TokenGrid.Inference.csproj src/TokenGrid.Inference/
COPY src/TokenGrid.Grains/TokenGrid.Grains.csproj src/TokenGrid.Grains/
COPY src/TokenGrid.Storage.Postgres/TokenGrid.Storage.Postgres.csproj src/TokenGrid.Storage.Postgres/
COPY src/TokenGrid.Silo/TokenGrid.Silo.csproj src/TokenGrid.Silo/

# CPU: the slim CPU package of ONNX Runtime, framework-dependent, on the ASP.NET runtime image.
FROM projects AS publish-cpu
RUN dotnet restore src/TokenGrid.Silo/TokenGrid.Silo.csproj -p:OnnxRuntimeFlavor=cpu
COPY src/ src/
COPY silo-config/ silo-config/
COPY --from=dashboard /dashboard/node_modules src/TokenGrid.Silo/Dashboard/node_modules
RUN dotnet publish src/TokenGrid.Silo/TokenGrid.Silo.csproj -c Release --no-restore -p:OnnxRuntimeFlavor=cpu -o /app

# GPU: the CUDA build of ONNX Runtime, self-contained, since the CUDA image has no .NET runtime.
FROM projects AS publish-gpu
RUN dotnet restore src/TokenGrid.Silo/TokenGrid.Silo.csproj -p:OnnxRuntimeFlavor=gpu --runtime linux-x64 -p:SelfContained=true
COPY src/ src/
COPY silo-config/ silo-config/
COPY --from=dashboard /dashboard/node_modules src/TokenGrid.Silo/Dashboard/node_modules
RUN dotnet publish src/TokenGrid.Silo/TokenGrid.Silo.csproj -c Release --no-restore -p:OnnxRuntimeFlavor=gpu \
      --runtime linux-x64 --self-contained -o /app

FROM ${CUDA_RUNTIME_IMAGE} AS gpu
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3t64 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1654 app && useradd --uid 1654 --gid 1654 --create-home app \
 && mkdir -p /var/cache/tokengrid/models && chown 1654:1654 /var/cache/tokengrid/models
WORKDIR /app
COPY --from=publish-gpu /app ./
ENV TOKENGRID_PROFILE=kubernetes
# At most 2 glibc malloc arenas: native memory stays flat under load (silo-config/README.md, "Memory").
ENV MALLOC_ARENA_MAX=2
USER 1654
EXPOSE 8080 11111
ENTRYPOINT ["./TokenGrid.Silo"]

FROM ${DOTNET_RUNTIME_IMAGE} AS cpu
RUN mkdir -p /var/cache/tokengrid/models && chown 1654:1654 /var/cache/tokengrid/models
WORKDIR /app
COPY --from=publish-cpu /app ./
ENV TOKENGRID_PROFILE=kubernetes
# At most 2 glibc malloc arenas: native memory stays flat under load (silo-config/README.md, "Memory").
ENV MALLOC_ARENA_MAX=2
USER 1654
EXPOSE 8080 11111
ENTRYPOINT ["dotnet", "TokenGrid.Silo.dll"]
