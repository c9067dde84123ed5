# SPDX-License-Identifier: MIT
# bash completion for volt-cas(1): commands, their options, profile names,
# folders where a folder is asked for, mount points for stats.

_volt_cas()
{
	local cur prev words cword
	_init_completion || return

	local commands="build ls show assemble verify gc stats select kvm help"
	local profiles="kvm-linux kvm-uefi emulate-x86 emulate-foreign"
	local cmd="" i n=0

	# The command is the first word that is neither an option nor an option's
	# value; n counts the command's arguments before the current word.
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--cas | --arch | --qemu-version | --jobs | --grace | --mode | --os) ((i++)) ;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=${words[i]}
			else
				((n++))
			fi
			;;
		esac
	done

	case $prev in
	--cas)
		_filedir -d
		return
		;;
	--arch)
		COMPREPLY=($(compgen -W "x86_64 aarch64 arm riscv64 ppc64 s390x" -- "$cur"))
		return
		;;
	--mode)
		COMPREPLY=($(compgen -W "hybrid-emulated hybrid-kvm" -- "$cur"))
		return
		;;
	--qemu-version | --jobs | --grace | --os)
		return
		;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--cas --help --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	local opts="--help"
	case $cmd in
	build) opts+=" --arch --qemu-version" ;;
	ls | show | stats) opts+=" --json" ;;
	verify) opts+=" --jobs" ;;
	gc) opts+=" --force --grace" ;;
	select) opts+=" --mode --arch --os" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi

	case $cmd in
	build)
		if ((n == 0)); then
			COMPREPLY=($(compgen -W "$profiles" -- "$cur"))
		elif ((n == 1)); then
			_filedir -d
		fi
		;;
	show)
		((n == 0)) && COMPREPLY=($(compgen -W "$profiles" -- "$cur"))
		;;
	assemble)
		if ((n == 0)); then
			COMPREPLY=($(compgen -W "$profiles" -- "$cur"))
		elif ((n == 1)); then
			_filedir -d
		fi
		;;
	stats)
		if ((n == 0)); then
			local mounts
			mounts=$(awk '$3 == "fuse.voltfs" { print $2 }' /proc/mounts 2>/dev/null)
			COMPREPLY=($(compgen -W "$mounts" -- "$cur"))
			((${#COMPREPLY[@]})) || _filedir -d
		fi
		;;
	help)
		((n == 0)) && COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		;;
	esac
} && complete -F _volt_cas volt-cas
