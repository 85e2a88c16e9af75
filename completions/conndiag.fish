function __conndiag_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __conndiag_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __conndiag_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __conndiag_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __conndiag_parse_tokens -S
    set -l unparsed_tokens (__conndiag_tokens -pc)
    switch $unparsed_tokens[1]
    case 'conndiag'
        __conndiag_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'syn-timeout'
            __conndiag_parse_subcommand 1 'connect-timeout=' 'repeat=' '4' '6' 'lab' 'lab-fault=+' 'syncnt=' 'keepalive' 'no-keepalive' 'keepidle=' 'keepintvl=' 'keepcnt=' 'user-timeout=' 'nodelay' 'source=' 'interface=' 'write-pcap=' 'no-capture' 'format=' 'json' 'expect=+' 'netns=' 'netns-pid=' 'version' 'h/help'
        case 'keepalive-test'
            __conndiag_parse_subcommand 1 'traffic=' 'write-size=' 'write-interval=' 'for=' 'connect-timeout=' 'lab' 'cut-after=' 'peer-close=' 'peer-close-after=' '4' '6' 'ping-time=' 'ping-timeout=' 'permit-without-stream' 'streams=' 'path=' 'grpc=' 'request-interval=' 'grpc-client=' 'tls' 'sni=' 'cacert=' 'insecure' 'cert=' 'key=' 'keylog=' 'syncnt=' 'keepalive' 'no-keepalive' 'keepidle=' 'keepintvl=' 'keepcnt=' 'user-timeout=' 'nodelay' 'source=' 'interface=' 'write-pcap=' 'no-capture' 'format=' 'json' 'expect=+' 'netns=' 'netns-pid=' 'version' 'h/help'
        case 'goaway-trace'
            __conndiag_parse_subcommand 1 'path=' 'method=' 'keep-request-open' 'finish-request-after=' 'grpc=' 'unary' 'server-stream' 'bidi' 'message-hex=' 'streams=' 'new-stream-interval=' 'ping-time=' 'ping-timeout=' 'permit-without-stream' 'for=' 'connect-timeout=' 'lab=' 'max-connection-age=' 'max-connection-age-grace=' 'server-kill-after=' 'upstream-kill-after=' 'server-drain-after=' '4' '6' 'tls' 'sni=' 'cacert=' 'insecure' 'cert=' 'key=' 'keylog=' 'syncnt=' 'keepalive' 'no-keepalive' 'keepidle=' 'keepintvl=' 'keepcnt=' 'user-timeout=' 'nodelay' 'source=' 'interface=' 'write-pcap=' 'no-capture' 'format=' 'json' 'expect=+' 'netns=' 'netns-pid=' 'version' 'h/help'
        case 'probe'
            __conndiag_parse_subcommand -r 1 'targets=' 'concurrency=' 'connect-timeout=' 'tls' 'sni=' 'cacert=' 'insecure' 'h2' 'pings=' 'grpc-health=' 'hold=' 'hold-keepalive' 'hold-ping' 'expect=+' '4' '6' 'format=' 'json' 'syncnt=' 'keepalive' 'no-keepalive' 'keepidle=' 'keepintvl=' 'keepcnt=' 'user-timeout=' 'nodelay' 'source=' 'netns=' 'netns-pid=' 'version' 'h/help'
        case 'analyze'
            __conndiag_parse_subcommand -r 1 'filter=' 'port=+' 'host=+' 'http2-port=+' 'max-connections=' 'stall-threshold=' 'max-events=' 'retries2=' 'keylog=+' 'timeline' 'format=' 'json' 'expect=+' 'version' 'h/help'
        case 'inspect'
            __conndiag_parse_subcommand 0 'pid=' 'all' 'port=' 'remote=' 'state=' 'idle-timeout=' 'follow' 'interval=' 'for=' 'capture' 'max-connections=' 'format=' 'json' 'expect=+' 'netns=' 'netns-pid=' 'version' 'h/help'
        case 'watch'
            __conndiag_parse_subcommand 0 'i/interface=' 'filter=' 'for=' 'until-first=' 'max-connections=' 'buffer-size=' 'write-pcap=' 'pcap-ring=' 'status-interval=' 'immediate' 'no-socket-options' 'format=' 'json' 'expect=' 'netns=' 'netns-pid=' 'version' 'h/help'
        case 'lab'
            __conndiag_parse_subcommand -r 1 'list' 'quick' 'parallel=' 'format=' 'json' 'expect=+' 'version' 'h/help'
        case 'help'
            __conndiag_parse_subcommand -r 1 'version'
        end
    end
end

function __conndiag_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __conndiag_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __conndiag_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __conndiag_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__conndiag_tokens -p)
    if test -z "$(__conndiag_tokens -t)"
        set -l index (count (__conndiag_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'conndiag' -f
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag" version' -l 'version' -d 'Show the version.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_positional "conndiag" -eq 1' -fa 'syn-timeout' -d 'Connect and show every SYN, how the attempt ended, and when the kernel said it would.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_positional "conndiag" -eq 1' -fa 'keepalive-test' -d 'Watch an established connection and show when and how a dead or silent peer is found.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_positional "conndiag" -eq 1' -fa 'goaway-trace' -d 'Trace what happens to in-flight HTTP/2 streams when a server drains or drops a connection.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_positional "conndiag" -eq 1' -fa 'probe' -d 'Check a set of endpoints concurrently: DNS, TCP, TLS, HTTP/2, gRPC health, idle hold.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_positional "conndiag" -eq 1' -fa 'analyze' -d 'Diagnose every TCP/HTTP/2 connection in a capture file, after the fact.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_positional "conndiag" -eq 1' -fa 'inspect' -d 'Show a running process\'s TCP connections: the options it set, the kernel\'s timers, and when a vanished peer would be found.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_positional "conndiag" -eq 1' -fa 'watch' -d 'Live verdicts on the traffic of a host or a pod, as failures happen.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_positional "conndiag" -eq 1' -fa 'lab' -d 'Reproduce every classic connection failure on this machine, with the kernel\'s predictions.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_positional "conndiag" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" connect-timeout' -l 'connect-timeout' -d 'Application deadline for connect(), e.g. 1s or 500ms.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" repeat' -l 'repeat' -d 'Connect this many times to each address.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" 4' -s '4' -d 'IPv4 addresses only.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" 6' -s '6' -d 'IPv6 addresses only.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" lab' -l 'lab' -d 'Run against the built-in lab targets in a private network namespace (needs root). Defaults to --syncnt 2.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout"' -l 'lab-fault' -d 'With --lab, only these targets: listening, blackhole, refuse, reject-reset, icmp-host-unreachable, icmp-port-unreachable.' -rfka 'listening blackhole refuse reject-reset icmp-host-unreachable icmp-port-unreachable'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" syncnt' -l 'syncnt' -d 'TCP_SYNCNT: SYN retransmissions before connect() gives up (1-255).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" keepalive' -l 'keepalive' -d 'SO_KEEPALIVE.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" no-keepalive' -l 'no-keepalive' -d 'SO_KEEPALIVE.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" keepidle' -l 'keepidle' -d 'TCP_KEEPIDLE: idle seconds before the first keepalive probe.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" keepintvl' -l 'keepintvl' -d 'TCP_KEEPINTVL: seconds between keepalive probes.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" keepcnt' -l 'keepcnt' -d 'TCP_KEEPCNT: unanswered probes before the connection is dropped.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" user-timeout' -l 'user-timeout' -d 'TCP_USER_TIMEOUT, e.g. 90s or 2500ms (0 = kernel default).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" nodelay' -l 'nodelay' -d 'TCP_NODELAY.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" source' -l 'source' -d 'Source address, optionally with :PORT ([v6]:PORT for IPv6).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" interface' -l 'interface' -d 'Capture on this interface instead of the one that routes to the target.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" write-pcap' -l 'write-pcap' -d 'Save the captured packets to FILE (pcap, readable by tcpdump and Wireshark).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" no-capture' -l 'no-capture' -d 'Do not capture packets; report socket-level events only.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" format' -l 'format' -d 'Output format: table (default on a terminal), json (default otherwise) or ndjson (one event per line as it happens, then a summary line).' -rfka 'table json ndjson'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" json' -l 'json' -d 'Same as --format json.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout"' -l 'expect' -d 'Assert the outcome for CI: ok, survives, status=STATUS, mechanism=MECHANISM, detected-within=DURATION. Exit 1 when one does not hold.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" netns' -l 'netns' -d 'Run in this named network namespace (ip netns add NAME): the socket, the capture and the kernel settings come from there. Needs CAP_SYS_ADMIN.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" netns-pid' -l 'netns-pid' -d 'Run in the network namespace of process PID, e.g. a pod\'s: --netns-pid $(pgrep -f SERVICE). Needs CAP_SYS_ADMIN unless it is conndiag\'s own.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" version' -l 'version' -d 'Show the version.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag syn-timeout" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" traffic' -l 'traffic' -d 'What the client does after the handshake: idle, send or h2.' -rfka 'idle send h2'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" write-size' -l 'write-size' -d 'With --traffic send: bytes per write.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" write-interval' -l 'write-interval' -d 'With --traffic send: time between writes.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" for' -l 'for' -d 'Stop watching after this long (default: until something is detected).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" connect-timeout' -l 'connect-timeout' -d 'Application deadline for connect().' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" lab' -l 'lab' -d 'Run against a peer in a private lab namespace (needs root).'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" cut-after' -l 'cut-after' -d 'With --lab: blackhole the flow in both directions this long after the connection is up.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" peer-close' -l 'peer-close' -d 'With --lab: make the peer close with fin or rst (after --peer-close-after, default 1s).' -rfka 'fin rst'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" peer-close-after' -l 'peer-close-after' -d 'With --peer-close: when the peer closes.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" 4' -s '4' -d 'IPv4 addresses only.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" 6' -s '6' -d 'IPv6 addresses only.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" ping-time' -l 'ping-time' -d 'Send a PING this long after the last read (A8 keepalive time). Off when not given.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" ping-timeout' -l 'ping-timeout' -d 'Close the connection when a PING is not answered within this (A8 keepalive timeout; default 20s).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" permit-without-stream' -l 'permit-without-stream' -d 'Send keepalive PINGs even with no open stream.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" streams' -l 'streams' -d 'Streams kept open (request bodies that never end).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" path' -l 'path' -d 'Request path for the streams.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" grpc' -l 'grpc' -d 'Use a gRPC call /pkg.Service/Method for the streams and requests.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" request-interval' -l 'request-interval' -d 'Start a new request this often (a busy connection).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" grpc-client' -l 'grpc-client' -d 'Apply a gRPC client\'s keepalive defaults: go, java or core (TCP_USER_TIMEOUT = ping-timeout per A18; go and java raise ping-time to 10s).' -rfka 'go java core'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" tls' -l 'tls' -d 'HTTP/2 over TLS (ALPN h2; the run fails clearly when the server selects anything else).'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" sni' -l 'sni' -d 'TLS server name (SNI and verification); default: the target\'s host.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" cacert' -l 'cacert' -d 'PEM file of trusted CA certificates (default: the system store).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" insecure' -l 'insecure' -d 'Complete the TLS handshake even when verification fails (the failure is still reported).'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" cert' -l 'cert' -d 'Client certificate (PEM) for servers that require one; with --key.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" key' -l 'key' -d 'Private key (PEM) of --cert.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" keylog' -l 'keylog' -d 'Append the TLS secrets to this NSS key log (default: $SSLKEYLOGFILE); with --write-pcap, Wireshark and `conndiag analyze --keylog` decrypt the pair.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" syncnt' -l 'syncnt' -d 'TCP_SYNCNT: SYN retransmissions before connect() gives up (1-255).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" keepalive' -l 'keepalive' -d 'SO_KEEPALIVE.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" no-keepalive' -l 'no-keepalive' -d 'SO_KEEPALIVE.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" keepidle' -l 'keepidle' -d 'TCP_KEEPIDLE: idle seconds before the first keepalive probe.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" keepintvl' -l 'keepintvl' -d 'TCP_KEEPINTVL: seconds between keepalive probes.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" keepcnt' -l 'keepcnt' -d 'TCP_KEEPCNT: unanswered probes before the connection is dropped.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" user-timeout' -l 'user-timeout' -d 'TCP_USER_TIMEOUT, e.g. 90s or 2500ms (0 = kernel default).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" nodelay' -l 'nodelay' -d 'TCP_NODELAY.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" source' -l 'source' -d 'Source address, optionally with :PORT ([v6]:PORT for IPv6).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" interface' -l 'interface' -d 'Capture on this interface instead of the one that routes to the target.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" write-pcap' -l 'write-pcap' -d 'Save the captured packets to FILE (pcap, readable by tcpdump and Wireshark).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" no-capture' -l 'no-capture' -d 'Do not capture packets; report socket-level events only.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" format' -l 'format' -d 'Output format: table (default on a terminal), json (default otherwise) or ndjson (one event per line as it happens, then a summary line).' -rfka 'table json ndjson'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" json' -l 'json' -d 'Same as --format json.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test"' -l 'expect' -d 'Assert the outcome for CI: ok, survives, status=STATUS, mechanism=MECHANISM, detected-within=DURATION. Exit 1 when one does not hold.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" netns' -l 'netns' -d 'Run in this named network namespace (ip netns add NAME): the socket, the capture and the kernel settings come from there. Needs CAP_SYS_ADMIN.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" netns-pid' -l 'netns-pid' -d 'Run in the network namespace of process PID, e.g. a pod\'s: --netns-pid $(pgrep -f SERVICE). Needs CAP_SYS_ADMIN unless it is conndiag\'s own.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" version' -l 'version' -d 'Show the version.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag keepalive-test" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" path' -l 'path' -d 'Request path (plain HTTP/2).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" method' -l 'method' -d 'Request method (plain HTTP/2).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" keep-request-open' -l 'keep-request-open' -d 'Keep each request body open (a POST upload in progress) so the stream stays open.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" finish-request-after' -l 'finish-request-after' -d 'With --keep-request-open: finish each request body this long after its stream opened.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" grpc' -l 'grpc' -d 'Send a gRPC call to /package.Service/Method instead.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" unary' -l 'unary' -d 'gRPC call kind (default --unary).'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" server-stream' -l 'server-stream' -d 'gRPC call kind (default --unary).'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" bidi' -l 'bidi' -d 'gRPC call kind (default --unary).'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" message-hex' -l 'message-hex' -d 'The gRPC request message as hex (empty by default; no protobuf compiler needed).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" streams' -l 'streams' -d 'Streams opened at once.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" new-stream-interval' -l 'new-stream-interval' -d 'Keep opening a new stream this often (also after a GOAWAY, to see which are refused).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" ping-time' -l 'ping-time' -d 'Client keepalive PING this long after the last read (A8).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" ping-timeout' -l 'ping-timeout' -d 'PING timeout (default 20s).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" permit-without-stream' -l 'permit-without-stream' -d 'Send keepalive PINGs with no open stream.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" for' -l 'for' -d 'Stop after this long (default: when the connection ends, at most 10 min).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" connect-timeout' -l 'connect-timeout' -d 'Application deadline for connect().' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" lab' -l 'lab' -d 'Run against a lab server in a private namespace: grpc (Python grpcio), nghttpd, or nghttpx in front of nghttpd.' -rfka 'grpc nghttpd nghttpx'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" max-connection-age' -l 'max-connection-age' -d 'With --lab grpc: grpc.max_connection_age_ms.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" max-connection-age-grace' -l 'max-connection-age-grace' -d 'With --lab grpc: grpc.max_connection_age_grace_ms.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" server-kill-after' -l 'server-kill-after' -d 'With --lab: SIGKILL the server this long after the connection is up.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" upstream-kill-after' -l 'upstream-kill-after' -d 'With --lab nghttpx: SIGKILL the upstream nghttpd this long after the connection is up (the proxy stays).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" server-drain-after' -l 'server-drain-after' -d 'With --lab: ask the server to drain this long after the connection is up (SIGQUIT for nghttpx).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" 4' -s '4' -d 'IPv4 addresses only.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" 6' -s '6' -d 'IPv6 addresses only.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" tls' -l 'tls' -d 'HTTP/2 over TLS (ALPN h2; the run fails clearly when the server selects anything else).'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" sni' -l 'sni' -d 'TLS server name (SNI and verification); default: the target\'s host.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" cacert' -l 'cacert' -d 'PEM file of trusted CA certificates (default: the system store).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" insecure' -l 'insecure' -d 'Complete the TLS handshake even when verification fails (the failure is still reported).'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" cert' -l 'cert' -d 'Client certificate (PEM) for servers that require one; with --key.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" key' -l 'key' -d 'Private key (PEM) of --cert.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" keylog' -l 'keylog' -d 'Append the TLS secrets to this NSS key log (default: $SSLKEYLOGFILE); with --write-pcap, Wireshark and `conndiag analyze --keylog` decrypt the pair.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" syncnt' -l 'syncnt' -d 'TCP_SYNCNT: SYN retransmissions before connect() gives up (1-255).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" keepalive' -l 'keepalive' -d 'SO_KEEPALIVE.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" no-keepalive' -l 'no-keepalive' -d 'SO_KEEPALIVE.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" keepidle' -l 'keepidle' -d 'TCP_KEEPIDLE: idle seconds before the first keepalive probe.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" keepintvl' -l 'keepintvl' -d 'TCP_KEEPINTVL: seconds between keepalive probes.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" keepcnt' -l 'keepcnt' -d 'TCP_KEEPCNT: unanswered probes before the connection is dropped.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" user-timeout' -l 'user-timeout' -d 'TCP_USER_TIMEOUT, e.g. 90s or 2500ms (0 = kernel default).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" nodelay' -l 'nodelay' -d 'TCP_NODELAY.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" source' -l 'source' -d 'Source address, optionally with :PORT ([v6]:PORT for IPv6).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" interface' -l 'interface' -d 'Capture on this interface instead of the one that routes to the target.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" write-pcap' -l 'write-pcap' -d 'Save the captured packets to FILE (pcap, readable by tcpdump and Wireshark).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" no-capture' -l 'no-capture' -d 'Do not capture packets; report socket-level events only.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" format' -l 'format' -d 'Output format: table (default on a terminal), json (default otherwise) or ndjson (one event per line as it happens, then a summary line).' -rfka 'table json ndjson'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" json' -l 'json' -d 'Same as --format json.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace"' -l 'expect' -d 'Assert the outcome for CI: ok, survives, status=STATUS, mechanism=MECHANISM, detected-within=DURATION. Exit 1 when one does not hold.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" netns' -l 'netns' -d 'Run in this named network namespace (ip netns add NAME): the socket, the capture and the kernel settings come from there. Needs CAP_SYS_ADMIN.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" netns-pid' -l 'netns-pid' -d 'Run in the network namespace of process PID, e.g. a pod\'s: --netns-pid $(pgrep -f SERVICE). Needs CAP_SYS_ADMIN unless it is conndiag\'s own.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" version' -l 'version' -d 'Show the version.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag goaway-trace" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" targets' -l 'targets' -d 'Read targets from FILE, one per line (\'-\' for stdin; # comments).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" concurrency' -l 'concurrency' -d 'Targets checked at once.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" connect-timeout' -l 'connect-timeout' -d 'Connect timeout per address.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" tls' -l 'tls' -d 'TLS handshake after connecting.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" sni' -l 'sni' -d 'TLS server name (SNI and verification); default: the target\'s host.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" cacert' -l 'cacert' -d 'PEM file of trusted CA certificates (default: the system store).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" insecure' -l 'insecure' -d 'Complete the TLS handshake even when verification fails (the failure is still reported).'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" h2' -l 'h2' -d 'Speak HTTP/2 (prior knowledge without TLS); implied when ALPN picks h2, by --grpc-health and --pings.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" pings' -l 'pings' -d 'PING round trips to measure over HTTP/2.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" grpc-health' -l 'grpc-health' -d 'grpc.health.v1.Health/Check for SERVICE (\'\' or omitted value: the server as a whole).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" hold' -l 'hold' -d 'Then hold the connection idle this long and report if and when something closes it.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" hold-keepalive' -l 'hold-keepalive' -d 'Repeat the hold on a new connection with TCP keepalive on, to see whether it keeps the connection open.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" hold-ping' -l 'hold-ping' -d 'Repeat the hold with HTTP/2 PINGs instead of TCP keepalive.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe"' -l 'expect' -d 'Expectations for every target: ok, connect<DURATION, tls-days>=N, alpn=h2, serving, rtt<DURATION, survives-hold.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" 4' -s '4' -d 'IPv4 addresses only.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" 6' -s '6' -d 'IPv6 addresses only.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" format' -l 'format' -d 'Output format: table (default on a terminal), json, or ndjson (one line per finished target, then a summary).' -rfka 'table json ndjson'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" json' -l 'json' -d 'Same as --format json.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" syncnt' -l 'syncnt' -d 'TCP_SYNCNT: SYN retransmissions before connect() gives up (1-255).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" keepalive' -l 'keepalive' -d 'SO_KEEPALIVE.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" no-keepalive' -l 'no-keepalive' -d 'SO_KEEPALIVE.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" keepidle' -l 'keepidle' -d 'TCP_KEEPIDLE: idle seconds before the first keepalive probe.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" keepintvl' -l 'keepintvl' -d 'TCP_KEEPINTVL: seconds between keepalive probes.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" keepcnt' -l 'keepcnt' -d 'TCP_KEEPCNT: unanswered probes before the connection is dropped.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" user-timeout' -l 'user-timeout' -d 'TCP_USER_TIMEOUT, e.g. 90s or 2500ms (0 = kernel default).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" nodelay' -l 'nodelay' -d 'TCP_NODELAY.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" source' -l 'source' -d 'Source address, optionally with :PORT ([v6]:PORT for IPv6).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" netns' -l 'netns' -d 'Run in this named network namespace (ip netns add NAME): the socket, the capture and the kernel settings come from there. Needs CAP_SYS_ADMIN.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" netns-pid' -l 'netns-pid' -d 'Run in the network namespace of process PID, e.g. a pod\'s: --netns-pid $(pgrep -f SERVICE). Needs CAP_SYS_ADMIN unless it is conndiag\'s own.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" version' -l 'version' -d 'Show the version.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag probe" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze" filter' -l 'filter' -d 'A BPF filter (tcpdump syntax) applied before analysis.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze"' -l 'port' -d 'Only connections with this port on either side (repeatable).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze"' -l 'host' -d 'Only connections with this address on either side (repeatable).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze"' -l 'http2-port' -d 'Treat connections to this server port as HTTP/2 even without a client preface (repeatable).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze" max-connections' -l 'max-connections' -d 'Track at most this many connections at once; the longest idle is evicted with a note.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze" stall-threshold' -l 'stall-threshold' -d 'A send window at zero with no WINDOW_UPDATE for longer than this is a flow-control stall.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze" max-events' -l 'max-events' -d 'Events kept per connection before routine ones are only counted (and at most 32 times this many routine events in the whole report).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze" retries2' -l 'retries2' -d 'The tcp_retries2 of the host that sent the capture\'s retransmissions (the capture cannot tell).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze"' -l 'keylog' -d 'A TLS key log (NSS SSLKEYLOGFILE format) to decrypt TLS 1.2/1.3 connections with (repeatable; default: $SSLKEYLOGFILE when that file exists).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze" timeline' -l 'timeline' -d 'Table format: print each connection\'s timeline before the summary.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze" format' -l 'format' -d 'Output format: table (default on a terminal), json (default otherwise) or ndjson (one connection line per connection as soon as it is settled, then one summary line; no event lines).' -rfka 'table json ndjson'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze" json' -l 'json' -d 'Same as --format json.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze"' -l 'expect' -d 'Assert the outcome for CI: ok, survives, status=STATUS, mechanism=MECHANISM, detected-within=DURATION. Exit 1 when one does not hold.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze" version' -l 'version' -d 'Show the version.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag analyze" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" pid' -l 'pid' -d 'The process whose TCP sockets to inspect.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" all' -l 'all' -d 'Every TCP socket of the namespace (of --pid\'s, --netns\'s or --netns-pid\'s namespace when given), each with its owner where found.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" port' -l 'port' -d 'Only connections with this local or remote port.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" remote' -l 'remote' -d 'Only connections to ADDRESS:PORT ([v6]:PORT for IPv6).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" state' -l 'state' -d 'Only these states, comma-separated (established,syn-sent,close-wait,...).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" idle-timeout' -l 'idle-timeout' -d 'A middlebox\'s idle timeout (NAT, load balancer) to check KEEPIDLE against.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" follow' -l 'follow' -d 'Keep watching: events on every change, an outcome for each connection that dies.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" interval' -l 'interval' -d 'With --follow: time between samples.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" for' -l 'for' -d 'With --follow: stop after this long (default: until the process exits or Ctrl-C; with --all, until every followed connection is gone).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" capture' -l 'capture' -d 'With --follow: capture the followed connections\' packets in their namespace (needs CAP_NET_RAW) and put retransmissions, probes, FIN/RST and ICMP errors on the same timeline.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" max-connections' -l 'max-connections' -d 'With --follow: follow at most this many connections, those found at the start and those opened later (a note says when the cap is hit).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" format' -l 'format' -d 'Output format: table (default on a terminal), json (default otherwise) or ndjson (events as they happen, then a summary line).' -rfka 'table json ndjson'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" json' -l 'json' -d 'Same as --format json.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect"' -l 'expect' -d 'Assert for every matched connection: keepalive=on|off, user-timeout=D, keepidle<=D, dead-within=D, mechanism=M. Exit 1 when one does not hold.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" netns' -l 'netns' -d 'Run in this named network namespace (ip netns add NAME): the socket, the capture and the kernel settings come from there. Needs CAP_SYS_ADMIN.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" netns-pid' -l 'netns-pid' -d 'Run in the network namespace of process PID, e.g. a pod\'s: --netns-pid $(pgrep -f SERVICE). Needs CAP_SYS_ADMIN unless it is conndiag\'s own.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" version' -l 'version' -d 'Show the version.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag inspect" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" i interface' -s 'i' -l 'interface' -d 'The interface to capture on, in the watched namespace (any: all of them).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" filter' -l 'filter' -d 'A BPF filter (tcpdump syntax); default: TCP and the ICMP errors that may quote it.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" for' -l 'for' -d 'Stop after this long (default: until Ctrl-C or SIGTERM).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" until-first' -l 'until-first' -d 'Stop after the first finding at or above this severity (warning or critical).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" max-connections' -l 'max-connections' -d 'Follow at most this many connections at once; the longest idle is evicted (noted in the summary).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" buffer-size' -l 'buffer-size' -d 'The kernel\'s capture buffer in MB (more absorbs bursts without drops).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" write-pcap' -l 'write-pcap' -d 'Also write the raw packets to this pcap file (for Wireshark or analyze).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" pcap-ring' -l 'pcap-ring' -d 'With --write-pcap: keep at most this many MB, in FILE and FILE.1 taking turns (0: one growing file).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" status-interval' -l 'status-interval' -d 'Time between status records (packets, kernel drops, connections followed).' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" immediate' -l 'immediate' -d 'libpcap\'s immediate mode: each packet at once (TPACKET_V2), one buffer slot per packet whatever its size; by default packets come in blocks handed over within 10 ms, which hold many more wire-sized packets.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" no-socket-options' -l 'no-socket-options' -d 'Do not read local sockets\' options (sock_diag, pidfd_getfd): predictions use the namespace\'s sysctls.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" format' -l 'format' -d 'Output format: table (default on a terminal), json (one document at the end) or ndjson (one record per finding and status as they happen, then a summary line).' -rfka 'table json ndjson'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" json' -l 'json' -d 'Same as --format json.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" expect' -l 'expect' -d 'For CI: none — exit 1 when a finding of severity warning or critical appears.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" netns' -l 'netns' -d 'Run in this named network namespace (ip netns add NAME): the socket, the capture and the kernel settings come from there. Needs CAP_SYS_ADMIN.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" netns-pid' -l 'netns-pid' -d 'Run in the network namespace of process PID, e.g. a pod\'s: --netns-pid $(pgrep -f SERVICE). Needs CAP_SYS_ADMIN unless it is conndiag\'s own.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" version' -l 'version' -d 'Show the version.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag watch" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag lab" list' -l 'list' -d 'Describe each scenario and exit.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag lab" quick' -l 'quick' -d 'Keep the whole matrix under a minute: long scenarios are shortened through their settings or only predicted, and say so.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag lab" parallel' -l 'parallel' -d 'Scenarios run at once, each in its own lab.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag lab" format' -l 'format' -d 'Output format: table (default on a terminal), json (default otherwise) or ndjson (one event per line as it happens, then a summary line).' -rfka 'table json ndjson'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag lab" json' -l 'json' -d 'Same as --format json.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag lab"' -l 'expect' -d 'Assert the outcome for CI: ok, survives, status=STATUS, mechanism=MECHANISM, detected-within=DURATION. Exit 1 when one does not hold.' -rfka ''
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag lab" version' -l 'version' -d 'Show the version.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag lab" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'conndiag' -n '__conndiag_should_offer_completions_for_flags_or_options "conndiag help" version' -l 'version' -d 'Show the version.'
