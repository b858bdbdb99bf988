# Sourced by scripts that start another npm (code-server's install under Node 24): drops what an outer
# `npm test` / `npm start` leaves in the environment for its scripts. npm reads npm_config_* (any case) as its
# own settings, so the outer npm's user agent (naming Node 20), prefixes, node-gyp and nodedir would steer the
# inner npm: code-server's postinstall then refuses ("requires node v24 ... you are on node v20") and
# `local_prefix` would even point the install at this repository. Kept: what reaching the registry needs
# (registry, proxies, certificates, the user's npmrc).
for __v in $(compgen -e); do
  __l=$(printf '%s' "$__v" | tr '[:upper:]' '[:lower:]')
  case "$__l" in
    npm_config_registry|npm_config_*proxy|npm_config_cafile|npm_config_ca|npm_config_strict_ssl|npm_config_userconfig|npm_config_globalconfig|npm_config_loglevel) ;;
    npm_*|init_cwd) unset "$__v" ;;
  esac
done
unset __v __l NODE
