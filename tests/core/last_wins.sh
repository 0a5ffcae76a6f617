# Sourced by test scripts that build pirf command lines from shared override strings
# ("$common $ft output.dir=..."): pirf refuses a key given twice on its command line, so
#   mapfile -t args < <(pirf_last_wins "$@")
# keeps, of two key=value arguments for the same key, the later, at the earlier one's place.
# Every other argument (commands, paths, PETSc options) is left as it is.
pirf_last_wins() {
  local -A at=()
  local out=() a k
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z_][A-Za-z0-9_.]*= ]]; then
      k=${a%%=*}
      if [[ -n ${at[$k]+x} ]]; then out[${at[$k]}]=$a; continue; fi
      at[$k]=${#out[@]}
    fi
    out+=("$a")
  done
  printf '%s\n' "${out[@]}"
}
