#!/bin/bash

__conndiag_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__conndiag_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__conndiag_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__conndiag_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_conndiag() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __conndiag_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    syn-timeout|keepalive-test|goaway-trace|probe|analyze|inspect|watch|lab|help)
        # Offer subcommand argument completions
        "_conndiag_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'syn-timeout keepalive-test goaway-trace probe analyze inspect watch lab help' -- "${cur}"))
        ;;
    esac
}

_conndiag_syn-timeout() {
    repeating_flags=()
    non_repeating_flags=(-4 -6 --lab --keepalive --no-keepalive --nodelay --no-capture --json --version -h --help)
    repeating_options=(--lab-fault --expect)
    non_repeating_options=(--connect-timeout --repeat --syncnt --keepidle --keepintvl --keepcnt --user-timeout --source --interface --write-pcap --format --netns --netns-pid)
    __conndiag_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--connect-timeout')
        return
        ;;
    '--repeat')
        return
        ;;
    '--lab-fault')
        __conndiag_add_completions -W 'listening'$'\n''blackhole'$'\n''refuse'$'\n''reject-reset'$'\n''icmp-host-unreachable'$'\n''icmp-port-unreachable'
        return
        ;;
    '--syncnt')
        return
        ;;
    '--keepidle')
        return
        ;;
    '--keepintvl')
        return
        ;;
    '--keepcnt')
        return
        ;;
    '--user-timeout')
        return
        ;;
    '--source')
        return
        ;;
    '--interface')
        return
        ;;
    '--write-pcap')
        return
        ;;
    '--format')
        __conndiag_add_completions -W 'table'$'\n''json'$'\n''ndjson'
        return
        ;;
    '--expect')
        return
        ;;
    '--netns')
        return
        ;;
    '--netns-pid')
        return
        ;;
    esac
}

_conndiag_keepalive-test() {
    repeating_flags=()
    non_repeating_flags=(--lab -4 -6 --permit-without-stream --tls --insecure --keepalive --no-keepalive --nodelay --no-capture --json --version -h --help)
    repeating_options=(--expect)
    non_repeating_options=(--traffic --write-size --write-interval --for --connect-timeout --cut-after --peer-close --peer-close-after --ping-time --ping-timeout --streams --path --grpc --request-interval --grpc-client --sni --cacert --cert --key --keylog --syncnt --keepidle --keepintvl --keepcnt --user-timeout --source --interface --write-pcap --format --netns --netns-pid)
    __conndiag_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--traffic')
        __conndiag_add_completions -W 'idle'$'\n''send'$'\n''h2'
        return
        ;;
    '--write-size')
        return
        ;;
    '--write-interval')
        return
        ;;
    '--for')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    '--cut-after')
        return
        ;;
    '--peer-close')
        __conndiag_add_completions -W 'fin'$'\n''rst'
        return
        ;;
    '--peer-close-after')
        return
        ;;
    '--ping-time')
        return
        ;;
    '--ping-timeout')
        return
        ;;
    '--streams')
        return
        ;;
    '--path')
        return
        ;;
    '--grpc')
        return
        ;;
    '--request-interval')
        return
        ;;
    '--grpc-client')
        __conndiag_add_completions -W 'go'$'\n''java'$'\n''core'
        return
        ;;
    '--sni')
        return
        ;;
    '--cacert')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    '--keylog')
        return
        ;;
    '--syncnt')
        return
        ;;
    '--keepidle')
        return
        ;;
    '--keepintvl')
        return
        ;;
    '--keepcnt')
        return
        ;;
    '--user-timeout')
        return
        ;;
    '--source')
        return
        ;;
    '--interface')
        return
        ;;
    '--write-pcap')
        return
        ;;
    '--format')
        __conndiag_add_completions -W 'table'$'\n''json'$'\n''ndjson'
        return
        ;;
    '--expect')
        return
        ;;
    '--netns')
        return
        ;;
    '--netns-pid')
        return
        ;;
    esac
}

_conndiag_goaway-trace() {
    repeating_flags=()
    non_repeating_flags=(--keep-request-open --unary --server-stream --bidi --permit-without-stream -4 -6 --tls --insecure --keepalive --no-keepalive --nodelay --no-capture --json --version -h --help)
    repeating_options=(--expect)
    non_repeating_options=(--path --method --finish-request-after --grpc --message-hex --streams --new-stream-interval --ping-time --ping-timeout --for --connect-timeout --lab --max-connection-age --max-connection-age-grace --server-kill-after --upstream-kill-after --server-drain-after --sni --cacert --cert --key --keylog --syncnt --keepidle --keepintvl --keepcnt --user-timeout --source --interface --write-pcap --format --netns --netns-pid)
    __conndiag_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--path')
        return
        ;;
    '--method')
        return
        ;;
    '--finish-request-after')
        return
        ;;
    '--grpc')
        return
        ;;
    '--message-hex')
        return
        ;;
    '--streams')
        return
        ;;
    '--new-stream-interval')
        return
        ;;
    '--ping-time')
        return
        ;;
    '--ping-timeout')
        return
        ;;
    '--for')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    '--lab')
        __conndiag_add_completions -W 'grpc'$'\n''nghttpd'$'\n''nghttpx'
        return
        ;;
    '--max-connection-age')
        return
        ;;
    '--max-connection-age-grace')
        return
        ;;
    '--server-kill-after')
        return
        ;;
    '--upstream-kill-after')
        return
        ;;
    '--server-drain-after')
        return
        ;;
    '--sni')
        return
        ;;
    '--cacert')
        return
        ;;
    '--cert')
        return
        ;;
    '--key')
        return
        ;;
    '--keylog')
        return
        ;;
    '--syncnt')
        return
        ;;
    '--keepidle')
        return
        ;;
    '--keepintvl')
        return
        ;;
    '--keepcnt')
        return
        ;;
    '--user-timeout')
        return
        ;;
    '--source')
        return
        ;;
    '--interface')
        return
        ;;
    '--write-pcap')
        return
        ;;
    '--format')
        __conndiag_add_completions -W 'table'$'\n''json'$'\n''ndjson'
        return
        ;;
    '--expect')
        return
        ;;
    '--netns')
        return
        ;;
    '--netns-pid')
        return
        ;;
    esac
}

_conndiag_probe() {
    repeating_flags=()
    non_repeating_flags=(--tls --insecure --h2 --hold-keepalive --hold-ping -4 -6 --json --keepalive --no-keepalive --nodelay --version -h --help)
    repeating_options=(--expect)
    non_repeating_options=(--targets --concurrency --connect-timeout --sni --cacert --pings --grpc-health --hold --format --syncnt --keepidle --keepintvl --keepcnt --user-timeout --source --netns --netns-pid)
    __conndiag_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--targets')
        return
        ;;
    '--concurrency')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    '--sni')
        return
        ;;
    '--cacert')
        return
        ;;
    '--pings')
        return
        ;;
    '--grpc-health')
        return
        ;;
    '--hold')
        return
        ;;
    '--expect')
        return
        ;;
    '--format')
        __conndiag_add_completions -W 'table'$'\n''json'$'\n''ndjson'
        return
        ;;
    '--syncnt')
        return
        ;;
    '--keepidle')
        return
        ;;
    '--keepintvl')
        return
        ;;
    '--keepcnt')
        return
        ;;
    '--user-timeout')
        return
        ;;
    '--source')
        return
        ;;
    '--netns')
        return
        ;;
    '--netns-pid')
        return
        ;;
    esac
}

_conndiag_analyze() {
    repeating_flags=()
    non_repeating_flags=(--timeline --json --version -h --help)
    repeating_options=(--port --host --http2-port --keylog --expect)
    non_repeating_options=(--filter --max-connections --stall-threshold --max-events --retries2 --format)
    __conndiag_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--filter')
        return
        ;;
    '--port')
        return
        ;;
    '--host')
        return
        ;;
    '--http2-port')
        return
        ;;
    '--max-connections')
        return
        ;;
    '--stall-threshold')
        return
        ;;
    '--max-events')
        return
        ;;
    '--retries2')
        return
        ;;
    '--keylog')
        return
        ;;
    '--format')
        __conndiag_add_completions -W 'table'$'\n''json'$'\n''ndjson'
        return
        ;;
    '--expect')
        return
        ;;
    esac
}

_conndiag_inspect() {
    repeating_flags=()
    non_repeating_flags=(--all --follow --capture --json --version -h --help)
    repeating_options=(--expect)
    non_repeating_options=(--pid --port --remote --state --idle-timeout --interval --for --max-connections --format --netns --netns-pid)
    __conndiag_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--pid')
        return
        ;;
    '--port')
        return
        ;;
    '--remote')
        return
        ;;
    '--state')
        return
        ;;
    '--idle-timeout')
        return
        ;;
    '--interval')
        return
        ;;
    '--for')
        return
        ;;
    '--max-connections')
        return
        ;;
    '--format')
        __conndiag_add_completions -W 'table'$'\n''json'$'\n''ndjson'
        return
        ;;
    '--expect')
        return
        ;;
    '--netns')
        return
        ;;
    '--netns-pid')
        return
        ;;
    esac
}

_conndiag_watch() {
    repeating_flags=()
    non_repeating_flags=(--immediate --no-socket-options --json --version -h --help)
    repeating_options=()
    non_repeating_options=(-i --interface --filter --for --until-first --max-connections --buffer-size --write-pcap --pcap-ring --status-interval --format --expect --netns --netns-pid)
    __conndiag_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-i'|'--interface')
        return
        ;;
    '--filter')
        return
        ;;
    '--for')
        return
        ;;
    '--until-first')
        return
        ;;
    '--max-connections')
        return
        ;;
    '--buffer-size')
        return
        ;;
    '--write-pcap')
        return
        ;;
    '--pcap-ring')
        return
        ;;
    '--status-interval')
        return
        ;;
    '--format')
        __conndiag_add_completions -W 'table'$'\n''json'$'\n''ndjson'
        return
        ;;
    '--expect')
        return
        ;;
    '--netns')
        return
        ;;
    '--netns-pid')
        return
        ;;
    esac
}

_conndiag_lab() {
    repeating_flags=()
    non_repeating_flags=(--list --quick --json --version -h --help)
    repeating_options=(--expect)
    non_repeating_options=(--parallel --format)
    __conndiag_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--parallel')
        return
        ;;
    '--format')
        __conndiag_add_completions -W 'table'$'\n''json'$'\n''ndjson'
        return
        ;;
    '--expect')
        return
        ;;
    esac
}

_conndiag_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __conndiag_offer_flags_options -1
}

complete -o filenames -F _conndiag conndiag
