# tunecost images, one per role (docker-compose.yml builds each by its target):
#   api     — REST API, migrations, optuna-dashboard: no torch, no Ray (the API never imports them)
#   runner  — job runners and Ray nodes (head, CPU and GPU workers): torch, Ray with its client
#             server and dashboard. TORCH_INDEX picks the wheel: PyPI's (CUDA, for GPU workers) by
#             default; https://download.pytorch.org/whl/cpu for CPU-only hosts.
FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    RAY_AUTH_MODE=disabled \
    TUNECOST_HOME=/var/lib/tunecost
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api ./api
COPY service ./service
COPY workers ./workers
COPY search_spaces ./search_spaces
COPY migrations ./migrations
COPY tunecost ./tunecost

FROM base AS api
RUN pip install .
EXPOSE 8000 8080
ENTRYPOINT ["tunecost"]
CMD ["serve", "--host", "0.0.0.0", "--no-runner"]

FROM base AS runner
ARG TORCH_INDEX=https://pypi.org/simple
# torch first, pinned: the GPU workers use its CUDA kernels when a GPU is reserved.
RUN pip install --index-url "$TORCH_INDEX" "torch==2.13.0" && pip install ".[train,cluster]"
EXPOSE 6379 8265 10001
ENTRYPOINT ["tunecost"]
CMD ["runner"]
