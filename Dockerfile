# One image for every clusterd node of the lab (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /opt/clusterd
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev
ENV PATH="/opt/clusterd/dist/scripts:${PATH}"
