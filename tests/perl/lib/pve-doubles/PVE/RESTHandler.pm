package PVE::RESTHandler;

# Test double of pve-common's PVE::RESTHandler (src/PVE/RESTHandler.pm): method registration with the same path
# semantics (fixed components, {param} and {param:regex} components, subclass mounts,
# "duplicate method definition" on a second registration of a path and method), lookup by
# HTTP method and path (find_handler), by name (map_method_by_name, and ->name(...) calls
# through AUTOLOAD as the HA LRM calls PVE::API2::Qemu->migrate_vm), and handle(), which
# validates the parameters against the method's schema before calling its code.

use strict;
use warnings;

use PVE::Exception qw(raise);
use PVE::JSONSchema;

my $registry = {}; # class => [infos], registration order
my $by_name = {}; # class => name => info
my $path_lookup = {}; # class => tree

our $AUTOLOAD;

sub register_method {
    my ($self, $info) = @_;

    my $method = $info->{subclass} ? 'SUBCLASS' : ($info->{method} //= 'GET');
    $info->{allowtoken} //= 1 if !$info->{subclass};
    my $errprefix = $info->{subclass}
        ? "register subclass $info->{subclass} at ${self}/$info->{path} -"
        : "register method ${self}/$info->{path} -";

    die "$errprefix no path" if !defined($info->{path});

    my $node = $path_lookup->{$self} //= {};
    my (@match_re, @match_name);
    for my $comp (split(/\/+/, $info->{path})) {
        die "$errprefix path compoment has zero length\n" if $comp eq '';
        if ($comp =~ m/^\{([\w-]+)(?::(.*))?\}$/) {
            my ($name, $re) = ($1, $2 || '\S+');
            die "$errprefix path match error - regex and fixed items\n" if $node->{folders};
            my $r = $node->{regex} //= { match_name => $name, match_re => $re };
            die "$errprefix found changed regex match name\n" if $r->{match_name} ne $name;
            die "$errprefix found changed regex\n" if $r->{match_re} ne $re;
            push @match_re, $re;
            push @match_name, $name;
            $node = $r;
        } else {
            die "$errprefix path match error - regex and fixed items\n" if $node->{regex};
            push @match_re, $comp;
            push @match_name, undef;
            $node = $node->{folders}->{$comp} //= {};
        }
    }

    die "$errprefix duplicate method definition\n" if $node->{$method};
    if ($method eq 'SUBCLASS') {
        for my $m (qw(GET PUT POST DELETE)) {
            die "$errprefix duplicate method definition SUBCLASS and $m\n" if $node->{$m};
        }
    }
    $node->{$method} = $info;
    $info->{match_re} = \@match_re;
    $info->{match_name} = \@match_name;

    if (my $name = $info->{name}) {
        die "$errprefix method name already defined\n" if $by_name->{$self}->{$name};
        $by_name->{$self}->{$name} = $info;
    }

    push @{ $registry->{$self} }, $info;
}

sub method_attributes {
    my ($self) = @_;
    return $registry->{$self};
}

sub map_method_by_name {
    my ($self, $name) = @_;

    my $info = $by_name->{$self}->{$name};
    die "no such method '${self}::$name'\n" if !$info;
    return $info;
}

sub map_path_to_methods {
    my ($class, $stack, $uri_param, $pathmatchref) = @_;

    my $node = $path_lookup->{$class};
    $$pathmatchref //= '' if $pathmatchref;

    while (defined(my $comp = shift @$stack)) {
        return undef if !$node;
        if (my $r = $node->{regex}) {
            return undef if $comp !~ m/^($r->{match_re})$/;
            $uri_param->{ $r->{match_name} } = $1;
            $node = $r;
            $$pathmatchref .= "/{$r->{match_name}}" if $pathmatchref;
        } elsif ($node->{folders}) {
            $node = $node->{folders}->{$comp};
            $$pathmatchref .= "/$comp" if $pathmatchref;
        } else {
            return undef;
        }
        return undef if !$node;

        if (my $sub = $node->{SUBCLASS}) {
            $class = $sub->{subclass};
            $node = $path_lookup->{$class};
        }
    }

    return undef if !$node;
    return ($class, $node);
}

sub find_handler {
    my ($class, $method, $path, $uri_param, $pathmatchref) = @_;

    my $stack = [grep { length($_) > 0 } split(/\/+/, $path)];
    my ($handler, $node) = eval { $class->map_path_to_methods($stack, $uri_param, $pathmatchref) };
    return undef if !$handler || !$node;

    my $info = $node->{$method} or return undef;
    return ($handler, $info);
}

sub handle {
    my ($self, $info, $param, $result_verification) = @_;

    my $code = $info->{code};
    raise("Method lookup failed ('$info->{name}')\n", code => 500)
        if !($info->{name} && $code);

    if (my $schema = $info->{parameters}) {
        PVE::JSONSchema::validate($param, $schema);
    }

    my $result = $code->($param);

    if ($result_verification && (my $schema = $info->{returns})) {
        PVE::JSONSchema::validate($result, $schema, "Result verification failed\n");
    }

    return $result;
}

sub DESTROY { }

sub AUTOLOAD {
    my ($this) = @_;

    my $sub = $AUTOLOAD;
    (my $name = $sub) =~ s/.*:://;
    my $info = $this->map_method_by_name($name);

    no strict 'refs';
    *{$sub} = sub {
        my $self = shift;
        return $self->handle($info, @_);
    };
    goto &$AUTOLOAD;
}

1;
