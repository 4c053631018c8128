# ports.sh - sourced by the shell tests: free_port prints a TCP port on
# 127.0.0.1 that nothing listens on, picked at random in 10000-31999 so
# that test runs side by side do not collide on fixed ports. The range is
# below Linux's ephemeral ports (32768 and up): an outgoing connection
# cannot take the port between the pick and the server's bind.
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((10000 + RANDOM % 22000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
